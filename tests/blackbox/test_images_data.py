"""Image API v2 black-box conformance (Glance 25 "Zed" behaviour).

Uploading and downloading image data.

Every assertion was checked against Debian's glance-api 2:25.1.0 (file store, no-auth
pipeline).  Where Glint deliberately differs, `glint_or_glance(glint=..., glance=...)`
selects the expectation; see NOTES.md for the observations behind each test.
"""
import hashlib
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import (
    IS_GLANCE, TS_RE, OCTET, assert_error, MIB, ctype,
)


# =====================================================================================
# Upload
# =====================================================================================

@pytest.fixture(scope="module")
def mib_data():
    return os.urandom(MIB)


def check_hashes(img, data):
    assert img["status"] == "active"
    assert img["size"] == len(data)
    assert img["checksum"] == hashlib.md5(data).hexdigest()
    assert img["os_hash_algo"] == "sha512"
    assert img["os_hash_value"] == hashlib.sha512(data).hexdigest()


class TestUpload:
    def test_upload_1mib(self, api, make_image, mib_data):
        img = make_image(name="up", disk_format="raw", container_format="bare")
        r = api.upload(img["id"], mib_data)
        assert r.status_code == 204
        assert r.content == b""
        got = api.show(img["id"])
        check_hashes(got, mib_data)
        assert got["virtual_size"] == MIB
        assert TS_RE.match(got["updated_at"])

    def test_upload_content_type_with_parameters(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        r = api.upload(img["id"], b"abc", content_type="application/octet-stream; charset=binary")
        assert r.status_code == 204
        check_hashes(api.show(img["id"]), b"abc")

    def test_chunked_upload(self, api, make_image, mib_data):
        img = make_image(disk_format="raw", container_format="bare")

        def gen():
            for i in range(0, len(mib_data), 65536):
                yield mib_data[i:i + 65536]
        r = api.upload(img["id"], gen())
        assert r.request.headers.get("Transfer-Encoding") == "chunked"
        assert r.status_code == 204
        got = api.show(img["id"])
        check_hashes(got, mib_data)
        assert api.get("/v2/images/%s/file" % img["id"]).content == mib_data

    @pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")
    def test_qcow2_virtual_size(self, api, make_image):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.qcow2")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "64M"], check=True)
            with open(path, "rb") as f:
                data = f.read()
        img = make_image(disk_format="qcow2", container_format="bare")
        assert api.upload(img["id"], data).status_code == 204
        got = api.show(img["id"])
        check_hashes(got, data)
        assert got["virtual_size"] == 67108864
        assert got["size"] == len(data) < 67108864

    def test_empty_upload(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        assert api.upload(img["id"], b"").status_code == 204
        got = api.show(img["id"])
        check_hashes(got, b"")
        if IS_GLANCE:
            assert got["virtual_size"] is None
        else:
            assert got["virtual_size"] in (0, None)
        r = api.get("/v2/images/%s/file" % img["id"])
        assert r.status_code == 200 and r.content == b""

    def test_upload_to_active_409(self, api, make_image):
        img = make_image.active()
        assert_error(api.upload(img["id"], b"again"), 409)
        assert api.show(img["id"])["size"] == 1024

    def test_upload_to_deactivated_409(self, api, make_image):
        img = make_image.active()
        assert api.post("/v2/images/%s/actions/deactivate" % img["id"]).status_code == 204
        assert_error(api.upload(img["id"], b"again"), 409)

    @pytest.mark.parametrize("ct", ["text/plain", "application/json", None])
    def test_upload_wrong_content_type_415(self, api, make_image, ct):
        img = make_image(disk_format="raw", container_format="bare")
        r = api.upload(img["id"], b"abc", content_type=ct)
        assert_error(r, 415)
        assert api.show(img["id"])["status"] == "queued"

    def test_upload_without_formats_400(self, api, make_image):
        img = make_image(name="nofmt")
        assert_error(api.upload(img["id"], b"abc"), 400)
        got = api.show(img["id"])
        assert got["status"] == "queued" and got["size"] is None

    def test_upload_with_only_disk_format_400(self, api, make_image):
        img = make_image(disk_format="raw")
        assert_error(api.upload(img["id"], b"abc"), 400)

    def test_upload_to_deleted_404(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        assert api.delete("/v2/images/%s" % img["id"]).status_code == 204
        assert_error(api.upload(img["id"], b"abc"), 404)


# =====================================================================================
# Download
# =====================================================================================

@pytest.fixture(scope="module")
def active_mib(api, module_images, mib_data):
    img = module_images.active(data=mib_data, name="dl")
    return img


class TestDownload:
    def test_download(self, api, active_mib, mib_data):
        r = api.get("/v2/images/%s/file" % active_mib["id"])
        assert r.status_code == 200
        assert ctype(r) == OCTET
        # Content-MD5 is the hex md5 (what python-glanceclient verifies), not base64
        assert r.headers["Content-MD5"] == hashlib.md5(mib_data).hexdigest()
        assert r.headers["Content-Length"] == str(MIB)
        assert r.content == mib_data

    def test_download_streamed(self, api, active_mib, mib_data):
        with api.get("/v2/images/%s/file" % active_mib["id"], stream=True) as r:
            assert r.status_code == 200
            h = hashlib.md5()
            for chunk in r.iter_content(65536):
                h.update(chunk)
        assert h.hexdigest() == active_mib["checksum"]

    @pytest.mark.parametrize("rng,start,end", [
        ("bytes=100-199", 100, 199),
        ("bytes=0-0", 0, 0),
        ("bytes=-100", MIB - 100, MIB - 1),
        ("bytes=1048500-", 1048500, MIB - 1),
        ("bytes=1048500-2000000", 1048500, MIB - 1),
    ])
    def test_range(self, api, active_mib, mib_data, rng, start, end):
        r = api.get("/v2/images/%s/file" % active_mib["id"], headers={"Range": rng})
        assert r.status_code == 206
        assert ctype(r) == OCTET
        assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (start, end, MIB)
        assert r.headers["Content-Length"] == str(end - start + 1)
        assert r.content == mib_data[start:end + 1]

    @pytest.mark.parametrize("rng", ["bytes=1048576-", "bytes=2000000-2000100", "bytes=10-5",
                                     "junk", "bytes=abc"])
    def test_range_not_satisfiable_416(self, api, active_mib, rng):
        r = api.get("/v2/images/%s/file" % active_mib["id"], headers={"Range": rng})
        assert_error(r, 416)

    def test_multi_range_400(self, api, active_mib):
        r = api.get("/v2/images/%s/file" % active_mib["id"], headers={"Range": "bytes=0-1,5-6"})
        assert_error(r, 400)

    def test_queued_download_204(self, api, make_image):
        img = make_image(disk_format="raw", container_format="bare")
        r = api.get("/v2/images/%s/file" % img["id"])
        assert r.status_code == 204
        assert r.content == b""
        assert "Content-MD5" not in r.headers

    def test_deactivated_download_as_admin(self, api, make_image):
        data = b"d" * 2048
        img = make_image.active(data=data)
        assert api.post("/v2/images/%s/actions/deactivate" % img["id"]).status_code == 204
        r = api.get("/v2/images/%s/file" % img["id"])
        # Glance lets admins download deactivated images (non-admins get 403)
        assert r.status_code == 200 and r.content == data
