package s3

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// iso formats a time as S3 does in XML.
func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// writeXML answers 200 with an XML document.
func writeXML(c *req, v any) error {
	c.w.Header().Set("Content-Type", "application/xml")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(xml.Header))
	return xml.NewEncoder(c.w).Encode(v)
}

// readXML decodes a request body of at most max bytes; anything that is
// not the expected document is MalformedXML.
func readXML(c *req, max int64, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, max+1))
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errEmptyBody
	}
	if int64(len(body)) > max {
		return s3Errorf("MalformedXML", http.StatusBadRequest, "the XML document is larger than %d bytes", max)
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return s3Errorf("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema")
	}
	return nil
}

// errEmptyBody is readXML's answer to a request without a body; callers
// whose document is optional accept it, the others answer MalformedXML.
var errEmptyBody = s3Errorf("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema")

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func ownerOf(account string) owner { return owner{ID: account, DisplayName: account} }

type listBucketsResult struct {
	XMLName xml.Name `xml:"ListAllMyBucketsResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Owner   owner    `xml:"Owner"`
	Buckets []bucket `xml:"Buckets>Bucket"`
}

type bucket struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

func listBuckets(c *req) error {
	svcs, err := c.h.d.State.Services(c.ctx())
	if err != nil {
		return err
	}
	res := listBucketsResult{Xmlns: xmlns, Owner: ownerOf(c.p.Account), Buckets: []bucket{}}
	for _, s := range svcs {
		if s.Type != schema.ServiceStorage || !c.p.CanRead(s) {
			continue
		}
		name := s.ContainerName()
		if s.Account != c.p.Account { // shared with the caller: addressed as tenant:bucket
			name = s.Account + ":" + name
		}
		res.Buckets = append(res.Buckets, bucket{Name: name, CreationDate: iso(s.Created)})
	}
	slices.SortFunc(res.Buckets, func(a, b bucket) int { return strings.Compare(a.Name, b.Name) })
	return writeXML(c, res)
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// createBucket creates a storage service with versioning on. Creating
// buckets is an administrator's act, as servicecreate is in the native API.
func createBucket(c *req) error {
	if !schema.ValidServiceID(c.bucket) || len(c.bucket) < 3 || len(c.bucket) > 63 {
		return s3Errorf("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid.")
	}
	if c.r.ContentLength != 0 {
		var cfg createBucketConfiguration
		if err := readXML(c, 64<<10, &cfg); err != nil && !errors.Is(err, errEmptyBody) {
			return err
		}
	}
	// bucket names belong to the caller's account: another account's
	// bucket of the same name is another service (events.CreateContainer)
	svc, err := c.h.d.State.ServiceByName(c.ctx(), c.p.Account, c.bucket)
	if err == nil {
		if c.p.CanRead(svc) {
			return s3Errorf("BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it.")
		}
		return accessDenied() // a key that may not see it learns nothing of it
	} else if !schema.IsKind(err, schema.KindNotFound) {
		return err
	}
	if !c.p.Admin {
		return accessDenied()
	}
	_, err = c.h.d.Core.CreateContainer(c.ctx(), c.origin(), c.bucket, events.ServiceInput{
		Account: c.p.Account, Name: c.bucket, Type: schema.ServiceStorage,
		Settings: schema.ServiceSettings{Versioning: "Enabled"},
	})
	if schema.IsKind(err, schema.KindAlreadyExists) { // created meanwhile
		return s3Errorf("BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it.")
	} else if err != nil {
		return err
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// deleteBucket deletes an empty bucket (BucketNotEmpty otherwise); the
// bucket's history stays in the log.
func deleteBucket(c *req) error {
	if !c.p.Admin {
		return accessDenied()
	}
	if err := c.h.d.Core.DeleteService(c.ctx(), c.origin(), c.bucket); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func headBucket(c *req) error {
	c.w.Header().Set("x-amz-bucket-region", "us-east-1")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Value   string   `xml:",chardata"`
}

// getBucketLocation answers us-east-1 as AWS does: an empty constraint.
func getBucketLocation(c *req) error {
	return writeXML(c, locationConstraint{Xmlns: xmlns})
}

type versioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status,omitempty"`
	MFA     string   `xml:"MfaDelete,omitempty"`
}

func versioningOf(s *schema.Service) string {
	if s.Settings.Versioning == "Suspended" {
		return "Suspended"
	}
	return "Enabled"
}

func getBucketVersioning(c *req) error {
	return writeXML(c, versioningConfiguration{Xmlns: xmlns, Status: versioningOf(c.svc)})
}

// putBucketVersioning records Enabled or Suspended. While suspended, a
// write replaces the key's "null" version instead of adding one; the log
// keeps every event either way (the README says more).
func putBucketVersioning(c *req) error {
	if !c.p.Admin { // before the body: a key that may not do this learns nothing from it
		return accessDenied()
	}
	var cfg versioningConfiguration
	if err := readXML(c, 64<<10, &cfg); err != nil {
		return err
	}
	if cfg.Status != "Enabled" && cfg.Status != "Suspended" {
		return s3Errorf("MalformedXML", http.StatusBadRequest, "Status must be Enabled or Suspended")
	}
	if cfg.MFA == "Enabled" {
		return s3Errorf("InvalidArgument", http.StatusBadRequest, "MFA delete is not supported")
	}
	_, err := c.h.d.Core.UpdateService(c.ctx(), c.origin(), c.bucket, func(s *schema.Service) error {
		s.Settings.Versioning = cfg.Status
		return nil
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

type accessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Xmlns   string   `xml:"xmlns,attr"`
	Owner   owner    `xml:"Owner"`
	Grants  []grant  `xml:"AccessControlList>Grant"`
}

type grant struct {
	Grantee    grantee `xml:"Grantee"`
	Permission string  `xml:"Permission"`
}

type grantee struct {
	XMLNS       string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// acl is the only ACL Cairn buckets and objects have: the owning account
// holds FULL_CONTROL; access is decided by keys, not ACLs.
func acl(c *req) error {
	o := ownerOf(c.svc.Account)
	return writeXML(c, accessControlPolicy{Xmlns: xmlns, Owner: o, Grants: []grant{{
		Grantee:    grantee{XMLNS: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: o.ID, DisplayName: o.DisplayName},
		Permission: "FULL_CONTROL",
	}}})
}

func getBucketACL(c *req) error { return acl(c) }
