import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// The catalog seam's values, arguments and rows (CatalogValue.swift, CatalogRow.swift): what
/// both engines rely on to read the same Swift values from their own column types.
@Suite("Catalog values")
struct CatalogValueTests {
    @Test("each Swift type binds to the catalog value it reads back from")
    func roundTrips() {
        #expect(Int.fromCatalog(42.catalogValue) == 42)
        #expect(Int64.fromCatalog(Int64.min.catalogValue) == .min)
        #expect(Int32.fromCatalog(Int32(-7).catalogValue) == -7)
        #expect(Bool.fromCatalog(true.catalogValue) == true)
        #expect(Bool.fromCatalog(false.catalogValue) == false)
        #expect(Double.fromCatalog(2.5.catalogValue) == 2.5)
        #expect(String.fromCatalog("é".catalogValue) == "é")
        #expect(Data.fromCatalog(Data([0, 255]).catalogValue) == Data([0, 255]))
        #expect(true.catalogValue == .integer(1))
        #expect(Data().catalogValue == .blob(Data()))
    }

    @Test("lenient conversions: whole reals, numbers as Bool, UTF-8 bytes as text")
    func lenient() {
        #expect(Int.fromCatalog(.real(3)) == 3)
        #expect(Int.fromCatalog(.real(3.5)) == nil)
        #expect(Double.fromCatalog(.integer(4)) == 4)
        #expect(Bool.fromCatalog(.integer(2)) == true)
        #expect(Bool.fromCatalog(.real(0)) == false)
        #expect(String.fromCatalog(.blob(Data("ab".utf8))) == "ab")
        #expect(String.fromCatalog(.blob(Data([0xff]))) == nil)
        #expect(Data.fromCatalog(.text("ab")) == Data("ab".utf8))
        #expect(Int32.fromCatalog(.integer(Int64(Int32.max) + 1)) == nil)
        #expect(Int.fromCatalog(.text("1")) == nil)
        #expect(String.fromCatalog(.integer(1)) == nil)
    }

    @Test("NULL: nil for a plain type, .some(nil) for an optional, NULL when bound")
    func nulls() {
        #expect(Int.fromCatalog(.null) == nil)
        #expect(Bool.fromCatalog(.null) == nil)
        let absent = Int?.fromCatalog(.null)
        #expect(absent == .some(nil))
        #expect(Int?.fromCatalog(.integer(5)) == .some(5))
        #expect(Int?.fromCatalog(.text("x")) == nil)
        let none: String? = nil
        #expect(none.catalogValue == .null)
    }

    @Test("array-literal arguments bind in order, nil as NULL")
    func arguments() {
        let name: String? = "a"
        let none: Int64? = nil
        let args: CatalogArguments = [name, none, 3, Data([1]), nil, true]
        #expect(args.values == [.text("a"), .null, .integer(3), .blob(Data([1])), .null, .integer(1)])
        var more = args + [1.5]
        more += ["z"]
        #expect(more.values.suffix(2) == [.real(1.5), .text("z")])
    }

    @Test("rows read by name (exact, then case-insensitive) and by index; NULL reads as nil")
    func rows() {
        let row = CatalogRow(
            columns: ["size", "nChunks", "name", "retired"],
            values: [.integer(10), .integer(2), .text("m"), .null])
        let size: Int = row["size"]
        let chunks: Int64 = row["nchunks"]
        let name: String = row[2]
        let retired: Int64? = row["retired"]
        let present: String? = row["name"]
        #expect(size == 10 && chunks == 2 && name == "m" && retired == nil && present == "m")
        #expect(row.hasColumn("NAME") && !row.hasColumn("missing"))
        #expect(row.value("missing") == .null)
        #expect(row.value("size") == .integer(10))
    }
}
