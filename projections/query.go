package projections

import (
	"strings"

	"github.com/tidwall/buntdb"

	"github.com/cairnhq/cairn/schema"
)

// The query API is grouped by concern, each family an interface declared
// next to its methods: Objects (objects.go, list.go), Services
// (services.go), Keys (keys.go), Feed (feed.go), PointInTime
// (pointintime.go) and Maintenance (maintenance.go). *Store implements
// them all; a caller takes the smallest one it needs. This file holds the
// helpers they share.

func notFound(what string) error { return schema.Errorf(schema.KindNotFound, "%s not found", what) }

func (s *Store) get(key string, v any, what string) error {
	return s.db.View(func(tx *buntdb.Tx) error {
		ok, err := getJSON(tx, key, v)
		if err != nil {
			return schema.Wrap(schema.KindInternal, err, "read projection")
		}
		if !ok {
			return notFound(what)
		}
		return nil
	})
}

// record returns the record at key, or KindNotFound naming what.
func record[T any](s *Store, key, what string) (*T, error) {
	v := new(T)
	if err := s.get(key, v, what); err != nil {
		return nil, err
	}
	return v, nil
}

// scanAll decodes every record under prefix, in key order.
func scanAll[T any](s *Store, prefix string) ([]*T, error) {
	var out []*T
	err := s.scanJSON(prefix, func(raw string) error {
		v := new(T)
		if err := decodeJSON(raw, v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func (s *Store) scanJSON(prefix string, fn func(raw string) error) error {
	var ferr error
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", prefix, func(k, v string) bool {
			if !strings.HasPrefix(k, prefix) {
				return false
			}
			ferr = fn(v)
			return ferr == nil
		})
	})
	if ferr != nil {
		return schema.Wrap(schema.KindInternal, ferr, "read projection")
	}
	if err != nil {
		return schema.Wrap(schema.KindInternal, err, "read projection")
	}
	return nil
}
