/// Python scripts the S3 tests run with boto3 (each prints "ALL OK" when every check passed;
/// an assertion failure exits non-zero with the reason).
enum S3Scripts {
    static let prelude = #"""
        import base64, hashlib, os, socket, sys, time, urllib.request, urllib.error
        from concurrent.futures import ThreadPoolExecutor
        import boto3, botocore
        from botocore.config import Config

        EP = os.environ["S3_ENDPOINT"]

        def client(key=None, secret=None):
            return boto3.client("s3", endpoint_url=EP, region_name="us-east-1",
                                aws_access_key_id=key or os.environ["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=secret or os.environ["AWS_SECRET_ACCESS_KEY"],
                                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, signature_version="s3v4",
                                              max_pool_connections=16))

        def expect_error(code, fn, *a, **k):
            try:
                fn(*a, **k)
            except botocore.exceptions.ClientError as e:
                got = e.response["Error"]["Code"]
                assert got == code, "expected %s, got %s: %s" % (code, got, e)
                return e
            raise AssertionError("expected %s, but the call succeeded" % code)

        def http_status(url, data=None, method="GET"):
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method)) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        """#

    static let boto3Operations = prelude + #"""
        c = client()
        c.create_bucket(Bucket="bk1")
        expect_error("BucketAlreadyOwnedByYou", c.create_bucket, Bucket="bk1")
        expect_error("NoSuchBucket", c.put_object, Bucket="nobucket", Key="k", Body=b"x")
        data = os.urandom(300000)
        r = c.put_object(Bucket="bk1", Key="dir/obj.bin", Body=data, ContentType="application/x-test",
                         Metadata={"owner": "alice", "run": "42"})
        assert r["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), r["ETag"]
        g = c.get_object(Bucket="bk1", Key="dir/obj.bin")
        assert g["Body"].read() == data
        assert g["ContentType"] == "application/x-test", g["ContentType"]
        assert g["Metadata"] == {"owner": "alice", "run": "42"}, g["Metadata"]
        g = c.get_object(Bucket="bk1", Key="dir/obj.bin", Range="bytes=1000-1999")
        assert g["ResponseMetadata"]["HTTPStatusCode"] == 206 and g["Body"].read() == data[1000:2000]
        assert c.get_object(Bucket="bk1", Key="dir/obj.bin", Range="bytes=-10")["Body"].read() == data[-10:]
        assert c.get_object(Bucket="bk1", Key="dir/obj.bin", Range="bytes=299990-")["Body"].read() == data[299990:]
        expect_error("InvalidRange", c.get_object, Bucket="bk1", Key="dir/obj.bin", Range="bytes=400000-")
        expect_error("NoSuchKey", c.get_object, Bucket="bk1", Key="missing")
        h = c.head_object(Bucket="bk1", Key="dir/obj.bin")
        assert h["ContentLength"] == len(data) and h["ETag"] == r["ETag"]
        expect_error("304", c.get_object, Bucket="bk1", Key="dir/obj.bin", IfNoneMatch=h["ETag"])
        expect_error("PreconditionFailed", c.get_object, Bucket="bk1", Key="dir/obj.bin", IfMatch='"00"')
        assert c.get_object(Bucket="bk1", Key="dir/obj.bin", IfMatch=h["ETag"])["Body"].read() == data
        expect_error("304", c.get_object, Bucket="bk1", Key="dir/obj.bin",
                     IfModifiedSince=h["LastModified"])

        # Conditional put, and integrity checks that store nothing on mismatch.
        c.put_object(Bucket="bk1", Key="once", Body=b"first", IfNoneMatch="*")
        expect_error("PreconditionFailed", c.put_object, Bucket="bk1", Key="once", Body=b"second", IfNoneMatch="*")
        assert c.get_object(Bucket="bk1", Key="once")["Body"].read() == b"first"
        wrong_md5 = base64.b64encode(hashlib.md5(b"xyz").digest()).decode()
        expect_error("BadDigest", c.put_object, Bucket="bk1", Key="bad", Body=b"abc", ContentMD5=wrong_md5)
        expect_error("NoSuchKey", c.get_object, Bucket="bk1", Key="bad")
        c.put_object(Bucket="bk1", Key="sha1", Body=b"abc", ChecksumAlgorithm="SHA1")
        c.put_object(Bucket="bk1", Key="sha256", Body=b"abc", ChecksumAlgorithm="SHA256")
        expect_error("BadDigest", c.put_object, Bucket="bk1", Key="badsum", Body=b"abc", ChecksumCRC32="AAAAAA==")
        expect_error("NoSuchKey", c.get_object, Bucket="bk1", Key="badsum")

        # Copy (catalog only) keeps content, type and metadata.
        c.copy_object(Bucket="bk1", Key="copy.bin", CopySource={"Bucket": "bk1", "Key": "dir/obj.bin"})
        g = c.get_object(Bucket="bk1", Key="copy.bin")
        assert g["Body"].read() == data and g["Metadata"]["owner"] == "alice"

        # 1,500 keys: V2 and V1 pagination, delimiter, start-after, delete_objects.
        keys = ["many/%05d" % i for i in range(1500)]
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda k: c.put_object(Bucket="bk1", Key=k, Body=k.encode()), keys))
        seen = []
        for page in c.get_paginator("list_objects_v2").paginate(Bucket="bk1", Prefix="many/",
                                                                PaginationConfig={"PageSize": 400}):
            seen += [o["Key"] for o in page.get("Contents", [])]
        assert seen == keys, (len(seen), seen[:3])
        seen = []
        for page in c.get_paginator("list_objects").paginate(Bucket="bk1", Prefix="many/",
                                                             PaginationConfig={"PageSize": 333}):
            seen += [o["Key"] for o in page.get("Contents", [])]
        assert seen == keys, len(seen)
        r = c.list_objects_v2(Bucket="bk1", Delimiter="/")
        assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir/", "many/"], r
        assert [o["Key"] for o in r["Contents"]] == ["copy.bin", "once", "sha1", "sha256"], r
        items = []
        for page in c.get_paginator("list_objects_v2").paginate(Bucket="bk1", Delimiter="/",
                                                                PaginationConfig={"PageSize": 1}):
            items += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert items == ["copy.bin", "dir/", "many/", "once", "sha1", "sha256"], items
        r = c.list_objects_v2(Bucket="bk1", Prefix="many/", StartAfter="many/01497")
        assert [o["Key"] for o in r["Contents"]] == ["many/01498", "many/01499"], r
        for i in range(0, 1500, 1000):
            r = c.delete_objects(Bucket="bk1", Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})
            assert len(r["Deleted"]) == len(keys[i:i + 1000]), r
        assert c.list_objects_v2(Bucket="bk1", Prefix="many/")["KeyCount"] == 0

        # Presigned GET and PUT.
        url = c.generate_presigned_url("get_object", Params={"Bucket": "bk1", "Key": "dir/obj.bin"}, ExpiresIn=300)
        assert http_status(url) == (200, data)
        url = c.generate_presigned_url("put_object", Params={"Bucket": "bk1", "Key": "presigned.txt"}, ExpiresIn=300)
        assert http_status(url, data=b"via presigned", method="PUT")[0] == 200
        assert c.get_object(Bucket="bk1", Key="presigned.txt")["Body"].read() == b"via presigned"

        # Multipart by hand: ETag form, ListParts, ListMultipartUploads, abort.
        part1 = os.urandom(5 << 20)
        part2 = os.urandom(1000)
        u = c.create_multipart_upload(Bucket="bk1", Key="mp.bin", ContentType="x/mp")["UploadId"]
        e1 = c.upload_part(Bucket="bk1", Key="mp.bin", UploadId=u, PartNumber=1, Body=part1)["ETag"]
        e2 = c.upload_part(Bucket="bk1", Key="mp.bin", UploadId=u, PartNumber=2, Body=part2)["ETag"]
        assert [p["PartNumber"] for p in c.list_parts(Bucket="bk1", Key="mp.bin", UploadId=u)["Parts"]] == [1, 2]
        assert [x["UploadId"] for x in c.list_multipart_uploads(Bucket="bk1")["Uploads"]] == [u]
        r = c.complete_multipart_upload(Bucket="bk1", Key="mp.bin", UploadId=u, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        want = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest() + "-2"
        assert r["ETag"] == '"%s"' % want, r["ETag"]
        g = c.get_object(Bucket="bk1", Key="mp.bin")
        assert g["Body"].read() == part1 + part2 and g["ContentType"] == "x/mp"
        u2 = c.create_multipart_upload(Bucket="bk1", Key="aborted")["UploadId"]
        c.abort_multipart_upload(Bucket="bk1", Key="aborted", UploadId=u2)
        expect_error("NoSuchUpload", c.list_parts, Bucket="bk1", Key="aborted", UploadId=u2)
        assert "Uploads" not in c.list_multipart_uploads(Bucket="bk1")

        assert c.get_bucket_location(Bucket="bk1")["LocationConstraint"] in (None, "")
        c.head_bucket(Bucket="bk1")
        expect_error("BucketNotEmpty", c.delete_bucket, Bucket="bk1")
        c.delete_object(Bucket="bk1", Key="once")
        expect_error("NoSuchKey", c.get_object, Bucket="bk1", Key="once")
        print("ALL OK")
        """#

    static let signatures = prelude + #"""
        E = os.environ
        admin = client(E["ADMIN_KEY"], E["ADMIN_SECRET"])
        reader = client(E["READ_KEY"], E["READ_SECRET"])
        limited = client(E["LIMITED_KEY"], E["LIMITED_SECRET"])
        admin.create_bucket(Bucket="shared")
        admin.create_bucket(Bucket="other")
        admin.put_object(Bucket="shared", Key="team-a/x", Body=b"x")
        admin.put_object(Bucket="shared", Key="team-b/y", Body=b"y")

        wrong = client(E["ADMIN_KEY"], "0" * 64)
        expect_error("SignatureDoesNotMatch", wrong.list_buckets)
        expect_error("SignatureDoesNotMatch", wrong.put_object, Bucket="shared", Key="w", Body=b"w")
        expect_error("InvalidAccessKeyId", client("nobody", "x").list_buckets)
        assert http_status(EP + "/shared/team-a/x")[0] == 403   # anonymous

        assert reader.get_object(Bucket="shared", Key="team-a/x")["Body"].read() == b"x"
        expect_error("AccessDenied", reader.put_object, Bucket="shared", Key="r", Body=b"r")
        expect_error("AccessDenied", reader.delete_object, Bucket="shared", Key="team-a/x")
        expect_error("AccessDenied", reader.create_bucket, Bucket="readers")

        limited.put_object(Bucket="shared", Key="team-a/new", Body=b"n")
        expect_error("AccessDenied", limited.put_object, Bucket="shared", Key="team-b/new", Body=b"n")
        expect_error("AccessDenied", limited.put_object, Bucket="other", Key="k", Body=b"n")
        expect_error("AccessDenied", limited.get_object, Bucket="shared", Key="team-b/y")
        expect_error("AccessDenied", limited.copy_object, Bucket="shared", Key="team-a/stolen",
                     CopySource={"Bucket": "shared", "Key": "team-b/y"})
        keys = [o["Key"] for o in limited.list_objects_v2(Bucket="shared")["Contents"]]
        assert keys == ["team-a/new", "team-a/x"], keys
        assert [b["Name"] for b in limited.list_buckets()["Buckets"]] == ["shared"]

        url = admin.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "team-a/x"}, ExpiresIn=300)
        st = http_status(url)
        assert st == (200, b"x"), (url, st)
        tampered = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
        status, body = http_status(tampered)
        assert status == 403 and b"SignatureDoesNotMatch" in body, body
        short = admin.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "team-a/x"}, ExpiresIn=1)
        time.sleep(2.5)
        status, body = http_status(short)
        assert status == 403 and b"expired" in body, body
        put = reader.generate_presigned_url("put_object", Params={"Bucket": "shared", "Key": "p"}, ExpiresIn=300)
        status, body = http_status(put, data=b"p", method="PUT")
        assert status == 403 and b"AccessDenied" in body, body

        # aws-chunked bodies with chained chunk signatures, with and without a signed trailer.
        import hmac, zlib
        hostport = EP.split("//", 1)[1]
        EMPTY = hashlib.sha256(b"").hexdigest()
        def mac(k, m):
            return hmac.new(k, m.encode(), hashlib.sha256)
        def chunked_put(key_id, secret, path, payload, trailer=False, tamper=False):
            amz = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            scope = amz[:8] + "/us-east-1/s3/aws4_request"
            mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
            h = {"host": hostport, "x-amz-content-sha256": mode, "x-amz-date": amz, "content-encoding": "aws-chunked",
                 "x-amz-decoded-content-length": str(len(payload))}
            if trailer:
                h["x-amz-trailer"] = "x-amz-checksum-crc32"
            names = sorted(h)
            canon = "\n".join(["PUT", path, "", "".join("%s:%s\n" % (n, h[n]) for n in names), ";".join(names), mode])
            key = ("AWS4" + secret).encode()
            for part in [amz[:8], "us-east-1", "s3", "aws4_request"]:
                key = mac(key, part).digest()
            sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canon.encode()).hexdigest()])
            prev = mac(key, sts).hexdigest()
            h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
                key_id, scope, ";".join(names), prev)
            body = b""
            for piece in [payload[i:i + 65536] for i in range(0, len(payload), 65536)] + [b""]:
                sig = mac(key, "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz, scope, prev, EMPTY,
                                          hashlib.sha256(piece).hexdigest()])).hexdigest()
                if tamper and piece:
                    piece = piece[:-1] + bytes([piece[-1] ^ 1])
                body += b"%x;chunk-signature=%s\r\n" % (len(piece), sig.encode())
                body += piece + b"\r\n" if piece else b""
                prev = sig
            if trailer:
                crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
                line = "x-amz-checksum-crc32:%s\n" % crc
                tsig = mac(key, "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz, scope, prev,
                                           hashlib.sha256(line.encode()).hexdigest()])).hexdigest()
                body += ("x-amz-checksum-crc32:%s\r\nx-amz-trailer-signature:%s\r\n\r\n" % (crc, tsig)).encode()
            else:
                body += b"\r\n"
            h["content-length"] = str(len(body))
            del h["host"]
            return raw_put(path, h, body)
        def raw_put(path, h, body):
            req = urllib.request.Request(EP + path, data=body, method="PUT", headers=h)
            try:
                with urllib.request.urlopen(req) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()
        payload = os.urandom(200000)
        for trailer in (False, True):
            key = "team-a/chunked-%d" % trailer
            st = chunked_put(E["ADMIN_KEY"], E["ADMIN_SECRET"], "/shared/" + key, payload, trailer=trailer)
            assert st[0] == 200, st
            assert admin.get_object(Bucket="shared", Key=key)["Body"].read() == payload
            bad = key + "-tampered"
            st = chunked_put(E["ADMIN_KEY"], E["ADMIN_SECRET"], "/shared/" + bad, payload, trailer=trailer, tamper=True)
            assert st[0] == 403 and b"SignatureDoesNotMatch" in st[1], st
            expect_error("NoSuchKey", admin.get_object, Bucket="shared", Key=bad)
        print("ALL OK")
        """#

    static let hostile = prelude + rawHTTP + #"""
        data, _ = exchange(request("PUT", "/hbk"))
        assert data.startswith(b"HTTP/1.1 200"), data

        # Oversized headers: a 4xx and a closed connection (or a reset of the unread request).
        data, closed = exchange(b"GET /hb HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
        assert closed and (data == b"" or data.startswith(b"HTTP/1.1 4")), data[:200]

        # A good aws-chunked body with an unsigned trailer.
        body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
        chunked = {"Content-Encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                   "x-amz-decoded-content-length": "5", "x-amz-trailer": "x-amz-checksum-crc32"}
        data, _ = exchange(request("PUT", "/hbk/chunked-ok", body, chunked))
        assert data.startswith(b"HTTP/1.1 200"), data
        data, _ = exchange(request("GET", "/hbk/chunked-ok"))
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"hello"), data

        # Wrong trailer checksum: 400 BadDigest, nothing stored.
        bad = body.replace(b"NhCmhg==", b"AAAAAA==")
        data, _ = exchange(request("PUT", "/hbk/chunked-bad-sum", bad, chunked))
        assert data.startswith(b"HTTP/1.1 400") and b"BadDigest" in data, data
        # Bad chunk framing: 400 and a closed connection.
        for framing in [b"zz\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n", b"5\r\nhel"]:
            data, closed = exchange(request("PUT", "/hbk/chunked-bad", framing, chunked))
            assert closed and data.startswith(b"HTTP/1.1 400"), data

        # Body shorter than declared (client half-closes): 400, closed, nothing stored.
        raw = request("PUT", "/hbk/short", b"x" * 10, {"Content-Length": "100"})
        data, closed = exchange(raw, half_close=True)
        assert closed and data.startswith(b"HTTP/1.1 400"), data
        # Body longer than declared: the extra bytes are not a request: 400 and closed.
        raw = request("PUT", "/hbk/long", b"hello", {"Connection": "keep-alive"}) + b"THIS IS NOT HTTP\r\n\r\n"
        data, closed = exchange(raw)
        assert closed and data.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 400" in data, data
        # A payload hash that does not match: nothing stored.
        data, _ = exchange(request("PUT", "/hbk/sha", b"abc", {"x-amz-content-sha256": "0" * 64}))
        assert data.startswith(b"HTTP/1.1 400") and b"XAmzContentSHA256Mismatch" in data, data
        # Oversized DeleteObjects bodies (120,000 and a million keys): refused whole before
        # anything is deleted, connection closed.
        data, _ = exchange(request("PUT", "/hbk/k", b"keep me"))
        assert data.startswith(b"HTTP/1.1 200"), data
        for n in [120000, 1000000]:
            huge = b"<Delete>" + b"<Object><Key>k</Key></Object>" * n + b"</Delete>"
            data, closed = exchange(request("POST", "/hbk?delete", huge))
            assert closed and data.startswith(b"HTTP/1.1 400"), (n, data[:200])
        data, _ = exchange(request("GET", "/hbk/k"))
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"keep me"), data

        # Bounded memory: a 256 MiB single PUT streams through; troved's peak resident set grows
        # by far less than the body.
        before = peak_kib()
        size = 256 << 20
        s = conn()
        s.sendall(("PUT /hbk/big HTTP/1.1\r\nHost: x\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
                   "Content-Length: %d\r\nConnection: close\r\n\r\n" % size).encode())
        for _ in range(size >> 20):
            s.sendall(os.urandom(1 << 20))
        data = read_until_closed(s)
        assert data.startswith(b"HTTP/1.1 200"), data[:300]
        grown = peak_kib() - before
        print("peak RSS before %d KiB, grown %d KiB during a 256 MiB PUT" % (before, grown))
        assert grown < 128 * 1024, "troved's peak memory grew by %d KiB during a 256 MiB PUT" % grown

        for key in ["chunked-bad-sum", "chunked-bad", "short", "sha"]:
            data, _ = exchange(request("GET", "/hbk/" + key))
            assert data.startswith(b"HTTP/1.1 404"), (key, data)
        data, _ = exchange(request("GET", "/hbk/long"))
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"hello"), data
        print("ALL OK")
        """#
}

extension S3Scripts {
    /// DVC against the S3 API: push v1 and v2 of a 200 MiB file (5 % of its 1 MiB blocks
    /// changed), pull into an empty cache, `gc -c -w`; prints the store's growth for v2.
    static let dvc = prelude + #"""
        import shutil, subprocess
        DVC = os.environ["DVC_BIN"]
        PACKS = os.environ["STORE_ROOT"] + "/packs"
        work = os.environ["WORK_DIR"]
        c = client()
        c.create_bucket(Bucket="dvc-remote")

        empty = os.path.join(work, "aws-empty.cfg")
        open(empty, "w").close()
        env = dict(os.environ, AWS_CONFIG_FILE=empty, AWS_SHARED_CREDENTIALS_FILE=empty)

        def dvc(*args):
            r = subprocess.run([DVC] + list(args), cwd=work, capture_output=True, text=True, env=env)
            assert r.returncode == 0, "dvc %s: %s\n%s" % (" ".join(args), r.stdout, r.stderr)
            return r.stdout

        def store_bytes():
            total = 0
            for d, _, files in os.walk(PACKS):
                total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
            return total

        dvc("init", "--no-scm")
        dvc("remote", "add", "-d", "trove", "s3://dvc-remote/cache")
        dvc("remote", "modify", "trove", "endpointurl", EP)
        dvc("remote", "modify", "trove", "region", "us-east-1")
        path = os.path.join(work, "data.bin")
        block = 1 << 20
        with open(path, "wb") as f:
            for _ in range(200):
                f.write(os.urandom(block))
        v1 = open(path, "rb").read()
        dvc("add", "data.bin")
        dvc("push")
        before = store_bytes()
        # v2: 10 of the 200 blocks (5 %) rewritten.
        import random
        rnd = random.Random(5)
        changed = sorted(rnd.sample(range(200), 10))
        with open(path, "r+b") as f:
            for b in changed:
                f.seek(b * block)
                f.write(os.urandom(block))
        v2 = open(path, "rb").read()
        dvc("add", "data.bin")
        dvc("push")
        growth = store_bytes() - before
        changed_bytes = len(changed) * block
        print("DEDUP growth=%d changed=%d ratio=%.3f" % (growth, changed_bytes, growth / changed_bytes))
        assert growth <= 1.3 * changed_bytes, (growth, changed_bytes)

        # Pull into an empty cache and workspace.
        shutil.rmtree(os.path.join(work, ".dvc", "cache"))
        os.remove(path)
        dvc("pull")
        assert open(path, "rb").read() == v2
        # gc -c -w: v1's object leaves the remote.
        keys = lambda: sorted(o["Key"] for p in c.get_paginator("list_objects_v2").paginate(Bucket="dvc-remote")
                              for o in p.get("Contents", []))
        n = len(keys())
        dvc("gc", "-c", "-w", "-f")
        assert len(keys()) == n - 1, (n, keys())
        print("ALL OK")
        """#
}
