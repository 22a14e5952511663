import sys, json, hashlib, urllib.request, boto3, botocore.config, swiftclient.client as sc
url = "http://127.0.0.1:18799"
keyid, key = sys.argv[1], sys.argv[2]
def native(method, fn, q="", body=None, k=key):
    req = urllib.request.Request(f"{url}/{fn}?{q}", data=body, method=method, headers={"x-owncdn-key": k})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")
def admin(fn, obj):
    return native("POST", fn, "", json.dumps(obj).encode())
admin("servicecreate", {"id": "photos"})
native("PUT", "uploadfile", "sid=photos&path=cat.txt", b"meow")
big = bytes((i * 7 + 3) % 251 for i in range(100 << 10))
native("PUT", "uploadfile", "sid=photos&path=big.bin", big)
native("PUT", "uploadfile", "sid=photos&path=cat.txt", b"meow 2")
native("PUT", "uploadfile", "sid=photos&path=gone.txt", b"bye")
native("DELETE", "deletefile", "sid=photos&path=gone.txt")
admin("accountcreate", {"id": "acme", "name": "Acme"})
k = admin("keycreate", {"name": "acme-admin", "account": "acme", "admin": True})
st, tok = sc.get_auth(url + "/auth/v1.0", k["id"], k["value"])
sc.put_container(st, tok, "docs", headers={"X-Container-Meta-Colour": "blue"})
sc.put_object(st, tok, "docs", "readme.txt", contents=b"hello from swift", headers={"X-Object-Meta-Lang": "en"})
s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=keyid, aws_secret_access_key=key, region_name="us-east-1",
                  config=botocore.config.Config(retries={"total_max_attempts": 1}))
s3.create_bucket(Bucket="logs")
s3.put_object(Bucket="logs", Key="2026/a.log", Body=b"log line\n")
s3.copy_object(Bucket="logs", Key="2026/b.log", CopySource={"Bucket": "logs", "Key": "2026/a.log"})
objs = [
    {"account": "default", "container": "photos", "path": "cat.txt", "body": b"meow 2"},
    {"account": "default", "container": "photos", "path": "big.bin", "body": big},
    {"account": "acme", "container": "docs", "path": "readme.txt", "body": b"hello from swift"},
    {"account": "default", "container": "logs", "path": "2026/a.log", "body": b"log line\n"},
    {"account": "default", "container": "logs", "path": "2026/b.log", "body": b"log line\n"},
]
out = {"objects": [{"account": o["account"], "container": o["container"], "path": o["path"],
                    "size": len(o["body"]), "sha256": hashlib.sha256(o["body"]).hexdigest()} for o in objs],
       "gone": [{"container": "photos", "path": "gone.txt"}],
       "versions": {"photos/cat.txt": 2}}
print(json.dumps(out, indent=2))
