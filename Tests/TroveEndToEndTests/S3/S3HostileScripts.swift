/// Raw-socket scripts for the hostile-HTTP tests (S3HostileTests): `S3_HOSTPORT` names the
/// listener, `S3_TROVED_PID` the troved process (for its peak memory).
extension S3Scripts {
    /// Helpers: `exchange` sends raw bytes and returns all the server sent until it closed.
    static let rawHTTP = #"""
        host, port = os.environ["S3_HOSTPORT"].rsplit(":", 1)
        port = int(port)

        def conn():
            return socket.create_connection((host, port), timeout=60)

        def read_until_closed(s):
            data = b""
            while True:
                try:
                    d = s.recv(65536)
                except ConnectionResetError:
                    return data
                if not d:
                    return data
                data += d

        def exchange(raw, half_close=False):
            # Sends raw bytes; returns everything the server sent until it closed the connection.
            s = conn()
            try:
                s.sendall(raw)
                if half_close:
                    s.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return read_until_closed(s), True

        def request(method, path, body=b"", headers=None):
            h = {"Host": "x", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-Length": str(len(body)),
                 "Connection": "close"}
            h.update(headers or {})
            head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
            return head.encode() + body

        def peak_kib():
            # troved's peak resident set so far.
            with open("/proc/%s/status" % os.environ["S3_TROVED_PID"]) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
            raise AssertionError("no VmHWM in /proc/PID/status")

        """#

    /// Clients that stop in the middle (troved runs with `[s3] idle_timeout = 2`): a request head
    /// that never ends, a body that stops short, a download nobody reads. Each is dropped; nothing
    /// of an unfinished upload is stored.
    static let slowClients = prelude + rawHTTP + #"""
        data, _ = exchange(request("PUT", "/slow"))
        assert data.startswith(b"HTTP/1.1 200"), data

        # A request head that never ends: the connection is closed (nothing, or a 4xx, is sent).
        s = conn()
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa")
        data = read_until_closed(s)
        assert data == b"" or data.startswith(b"HTTP/1.1 4"), data[:200]

        # A body that stops after 10 of its 100 bytes: closed, nothing stored.
        s = conn()
        s.sendall(request("PUT", "/slow/stalled", b"x" * 10, {"Content-Length": "100"}))
        data = read_until_closed(s)
        assert not data.startswith(b"HTTP/1.1 2"), data[:200]
        data, _ = exchange(request("GET", "/slow/stalled"))
        assert data.startswith(b"HTTP/1.1 404"), data[:200]

        # A download the client stops reading: troved drops it instead of holding it open.
        size = 48 << 20
        data, _ = exchange(request("PUT", "/slow/big", os.urandom(size)))
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
        s = conn()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(request("GET", "/slow/big"))
        first = s.recv(1024)
        assert first.startswith(b"HTTP/1.1 200"), first[:200]
        time.sleep(15)
        rest = read_until_closed(s)
        assert len(first) + len(rest) < size, "the whole download arrived: the stalled client was not dropped"
        # Still serving.
        data, _ = exchange(request("GET", "/slow/big", headers={"Range": "bytes=0-99"}))
        assert data.startswith(b"HTTP/1.1 206") and data.endswith(b"\r\n\r\n" + data[-100:]), data[:300]
        print("ALL OK")
        """#

    /// Slowloris (troved runs with `[s3] header_timeout = 2`, `min_body_rate = 4096` and a long
    /// `idle_timeout`, so only the new deadlines can cut these clients off): a head dribbled a
    /// byte at a time and a body dribbled a byte at a time each get 408 RequestTimeout and a
    /// closed connection long before they would finish; nothing is stored; a kept-alive
    /// connection quiet between requests for longer than header_timeout still serves the next.
    static let slowloris = prelude + rawHTTP + #"""
        import select

        def dribble(prefix, drip, limit=120):
            # Sends `prefix`, then `drip` a byte every 0.25 s until the server answers or closes.
            s = conn()
            s.sendall(prefix)
            sent = 0
            start = time.time()
            while time.time() - start < limit and sent < len(drip):
                readable, _, _ = select.select([s], [], [], 0.25)
                if readable:
                    break
                try:
                    s.send(drip[sent:sent + 1])
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += 1
            assert sent < len(drip), "the whole dribble was accepted (%d bytes in %.0f s)" % (sent, time.time() - start)
            return read_until_closed(s), sent

        data, _ = exchange(request("PUT", "/loris"))
        assert data.startswith(b"HTTP/1.1 200"), data

        # A head, one byte at a time: cut off with 408 well before its 2,000 bytes are through.
        head = b"GET /loris/x HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 2000 + b"\r\n\r\n"
        data, sent = dribble(b"", head)
        assert data.startswith(b"HTTP/1.1 408"), (sent, data[:300])
        assert b"<Code>RequestTimeout</Code>" in data, data[:600]
        print("head cut off after", sent, "bytes")

        # A body, one byte at a time: 408, nothing stored.
        data, sent = dribble(request("PUT", "/loris/dribbled", headers={"Content-Length": "4000"}), b"y" * 4000)
        assert data.startswith(b"HTTP/1.1 408"), (sent, data[:300])
        assert b"<Code>RequestTimeout</Code>" in data, data[:600]
        print("body cut off after", sent, "bytes")
        data, _ = exchange(request("GET", "/loris/dribbled"))
        assert data.startswith(b"HTTP/1.1 404"), data[:200]

        # A fast body is not hurried; a kept-alive connection may rest between requests.
        s = conn()
        def roundtrip(raw):
            s.sendall(raw)
            got = b""
            while b"\r\n\r\n" not in got:
                d = s.recv(65536)
                assert d, "the server closed a kept-alive connection: %r" % got[:200]
                got += d
            head, _, rest = got.partition(b"\r\n\r\n")
            length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
            while len(rest) < length:
                d = s.recv(65536)
                assert d, "the server closed the connection mid-response"
                rest += d
            return head, rest
        body = os.urandom(8 << 20)
        keep = {"Connection": "keep-alive"}
        head, _ = roundtrip(request("PUT", "/loris/fast", body, keep))
        assert head.startswith(b"HTTP/1.1 200"), head
        time.sleep(5)
        head, got = roundtrip(request("GET", "/loris/fast", headers=keep))
        assert head.startswith(b"HTTP/1.1 200") and got == body, head
        s.close()
        print("ALL OK")
        """#
}
