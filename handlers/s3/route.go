package s3

import (
	"net/http"
	"strings"
)

// op is one S3 operation: its name, whether it writes, and what runs it.
// An op without run answers a fixed error (sub-resources Cairn does not
// keep, answered the way S3 answers a bucket that has none configured).
type op struct {
	name    string
	write   bool
	create  bool // the bucket need not exist (CreateBucket)
	run     func(*req) error
	code    string
	status  int
	message string
}

// extra reports whether the query holds a parameter that is not part of
// a plain request: not a presigned signature's, not the SDKs' x-id, not a
// versionId or response-* override, not the point-in-time extension.
func (c *req) extra() bool {
	for k := range c.q {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-amz-") && lk != "x-id" && lk != AsOfHeader && k != "versionId" && !strings.HasPrefix(k, "response-") {
			return true
		}
	}
	return false
}

func (c *req) copySource() bool { return c.r.Header.Get("x-amz-copy-source") != "" }

// absent answers a sub-resource that is never configured on Cairn buckets.
func absent(name, code, message string) op {
	return op{name: name, code: code, status: http.StatusNotFound, message: message}
}

// unsupported answers a sub-resource Cairn does not implement.
func unsupported(name string) op {
	return op{name: name, code: "NotImplemented", status: http.StatusNotImplemented,
		message: "Cairn does not implement " + name}
}

// route picks the operation from the method, the path and the query's
// sub-resources.
func route(c *req) op {
	m := c.r.Method
	switch {
	case c.bucket == "":
		if m == http.MethodGet {
			return op{name: "ListBuckets", run: listBuckets}
		}
		return op{}
	case c.key == "":
		return routeBucket(c, m)
	}
	return routeObject(c, m)
}

func routeBucket(c *req, m string) op {
	switch m {
	case http.MethodGet:
		switch {
		case c.has("location"):
			return op{name: "GetBucketLocation", run: getBucketLocation}
		case c.has("versioning"):
			return op{name: "GetBucketVersioning", run: getBucketVersioning}
		case c.has("acl"):
			return op{name: "GetBucketAcl", run: getBucketACL}
		case c.has("versions"):
			return op{name: "ListObjectVersions", run: listObjectVersions}
		case c.has("uploads"):
			return op{name: "ListMultipartUploads", run: listMultipartUploads}
		case c.has("policy"):
			return absent("GetBucketPolicy", "NoSuchBucketPolicy", "The bucket policy does not exist")
		case c.has("cors"):
			return absent("GetBucketCors", "NoSuchCORSConfiguration", "The CORS configuration does not exist")
		case c.has("lifecycle"):
			return absent("GetBucketLifecycleConfiguration", "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
		case c.has("tagging"):
			return absent("GetBucketTagging", "NoSuchTagSet", "The TagSet does not exist")
		case c.has("website"):
			return absent("GetBucketWebsite", "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration")
		case c.has("encryption"):
			return absent("GetBucketEncryption", "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")
		case c.has("object-lock"):
			return absent("GetObjectLockConfiguration", "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
		case c.has("replication"):
			return absent("GetBucketReplication", "ReplicationConfigurationNotFoundError", "The replication configuration was not found")
		case c.has("policyStatus"), c.has("logging"), c.has("notification"), c.has("ownershipControls"),
			c.has("publicAccessBlock"), c.has("accelerate"), c.has("requestPayment"), c.has("analytics"),
			c.has("metrics"), c.has("inventory"), c.has("intelligent-tiering"):
			return unsupported("this bucket sub-resource")
		case c.q.Get("list-type") == "2":
			return op{name: "ListObjectsV2", run: listObjectsV2}
		}
		return op{name: "ListObjects", run: listObjectsV1}
	case http.MethodHead:
		return op{name: "HeadBucket", run: headBucket}
	case http.MethodPut:
		switch {
		case c.has("versioning"):
			return op{name: "PutBucketVersioning", write: true, run: putBucketVersioning}
		case c.extra():
			return unsupported("this bucket sub-resource")
		}
		return op{name: "CreateBucket", create: true, run: createBucket}
	case http.MethodDelete:
		if c.extra() {
			return unsupported("this bucket sub-resource")
		}
		return op{name: "DeleteBucket", run: deleteBucket}
	case http.MethodPost:
		if c.has("delete") {
			return op{name: "DeleteObjects", write: true, run: deleteObjects}
		}
	}
	return op{}
}

func routeObject(c *req, m string) op {
	switch m {
	case http.MethodGet:
		switch {
		case c.has("uploadId"):
			return op{name: "ListParts", run: listParts}
		case c.has("acl"):
			return op{name: "GetObjectAcl", run: getObjectACL}
		case c.has("tagging"):
			return op{name: "GetObjectTagging", run: getObjectTagging}
		case c.has("attributes"), c.has("retention"), c.has("legal-hold"), c.has("torrent"):
			return unsupported("this object sub-resource")
		}
		return op{name: "GetObject", run: getObject}
	case http.MethodHead:
		return op{name: "HeadObject", run: getObject}
	case http.MethodPut:
		switch {
		case c.has("uploadId") && c.copySource():
			return op{name: "UploadPartCopy", write: true, run: uploadPartCopy}
		case c.has("uploadId"):
			return op{name: "UploadPart", write: true, run: uploadPart}
		case c.extra():
			return unsupported("this object sub-resource")
		case c.copySource():
			return op{name: "CopyObject", write: true, run: copyObject}
		}
		return op{name: "PutObject", write: true, run: putObject}
	case http.MethodPost:
		switch {
		case c.has("uploads"):
			return op{name: "CreateMultipartUpload", write: true, run: createMultipartUpload}
		case c.has("uploadId"):
			return op{name: "CompleteMultipartUpload", write: true, run: completeMultipartUpload}
		}
	case http.MethodDelete:
		switch {
		case c.has("uploadId"):
			return op{name: "AbortMultipartUpload", write: true, run: abortMultipartUpload}
		case c.extra():
			return unsupported("this object sub-resource")
		}
		return op{name: "DeleteObject", write: true, run: deleteObject}
	}
	return op{}
}
