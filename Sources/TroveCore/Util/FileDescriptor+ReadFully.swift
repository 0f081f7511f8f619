import SystemPackage

extension FileDescriptor {
    /// Reads at `offset` until `buffer` is full or the file ends, through swift-system (which
    /// retries interrupted calls); returns the bytes read, fewer than `buffer.count` only at the
    /// end of the file.
    public func readFully(fromAbsoluteOffset offset: Int64, into buffer: UnsafeMutableRawBufferPointer)
        throws(Errno) -> Int
    {
        var done = 0
        while done < buffer.count {
            let n: Int
            do {
                n = try read(
                    fromAbsoluteOffset: offset + Int64(done),
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), retryOnInterrupt: true)
            } catch {
                throw (error as? Errno) ?? .ioError
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `bytes` at the current position (swift-system retries interrupted calls and
    /// short writes), with the failure as an `Errno`.
    public func writeFully(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        do { _ = try writeAll(bytes) } catch { throw (error as? Errno) ?? .ioError }
    }

    /// Writes all of `bytes` at `offset` (swift-system retries interrupted calls and short
    /// writes), with the failure as an `Errno`.
    public func writeFully(toAbsoluteOffset offset: Int64, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        do { _ = try writeAll(toAbsoluteOffset: offset, bytes) } catch { throw (error as? Errno) ?? .ioError }
    }
}
