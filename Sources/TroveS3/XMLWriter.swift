/// Builds the small XML documents S3 answers with (escaped text, no pretty-printing).
struct XMLWriter {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
    private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

    /// Starts a document; `root` (if given) is opened with S3's namespace.
    init(root: String?) {
        if let root { text += "<\(root) xmlns=\"\(XMLWriter.namespace)\">" }
    }

    mutating func open(_ name: String) { text += "<\(name)>" }
    mutating func close(_ name: String) { text += "</\(name)>" }

    mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>"
        text += XMLWriter.escape(value)
        text += "</\(name)>"
    }

    mutating func element(_ name: String, _ value: some BinaryInteger) { element(name, "\(value)") }
    mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }

    static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 || $0 < 0x20 })
        else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                if ch.value < 0x20 { out += "&#\(ch.value);" } else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }
}

/// A forgiving scanner for the two request documents S3 clients send (Delete and
/// CompleteMultipartUpload): finds the text of elements by name, in order. Refuses DTDs and
/// entities other than the five predefined ones and numeric references.
enum XMLScanner {
    /// The elements named `container`, each as a map of its direct child elements' texts.
    static func records(_ xml: String, container: String, fields: [String]) throws(S3Error) -> [[String: String]] {
        if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
            throw .malformedXML("DTDs and entity declarations are not accepted")
        }
        var out: [[String: String]] = []
        var rest = Substring(xml)
        while let start = rest.range(of: "<\(container)>") {
            guard let end = rest.range(of: "</\(container)>", range: start.upperBound..<rest.endIndex) else {
                throw .malformedXML("<\(container)> is not closed")
            }
            let body = rest[start.upperBound..<end.lowerBound]
            var record: [String: String] = [:]
            for f in fields {
                if let a = body.range(of: "<\(f)>"), let b = body.range(of: "</\(f)>", range: a.upperBound..<body.endIndex) {
                    record[f] = try unescape(body[a.upperBound..<b.lowerBound])
                } else if body.contains("<\(f)/>") {
                    record[f] = ""
                }
            }
            out.append(record)
            rest = rest[end.upperBound...]
        }
        return out
    }

    /// The text of the first element named `name`, if any.
    static func value(_ xml: String, _ name: String) throws(S3Error) -> String? {
        guard let a = xml.range(of: "<\(name)>"), let b = xml.range(of: "</\(name)>", range: a.upperBound..<xml.endIndex)
        else { return nil }
        return try unescape(xml[a.upperBound..<b.lowerBound])
    }

    static func unescape(_ s: Substring) throws(S3Error) -> String {
        guard s.contains("&") else { return String(s) }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            guard c == "&" else {
                out.append(c)
                i = s.index(after: i)
                continue
            }
            guard let semi = s[i...].firstIndex(of: ";") else { throw .malformedXML("unterminated entity") }
            let name = s[s.index(after: i)..<semi]
            switch name {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                var v: UInt32?
                if name.hasPrefix("#x") { v = UInt32(name.dropFirst(2), radix: 16) } else if name.hasPrefix("#") {
                    v = UInt32(name.dropFirst())
                }
                guard let v, let scalar = Unicode.Scalar(v) else { throw .malformedXML("unknown entity &\(name);") }
                out.unicodeScalars.append(scalar)
            }
            i = s.index(after: semi)
        }
        return out
    }
}
