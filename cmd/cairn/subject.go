package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/cairnhq/cairn/schema"
)

const subjectUsage = `usage: cairn subject --sid SID [--path PATH] [--op OP]
       cairn subject --account ACCOUNT

Prints the NATS subject filter(s) to consume, one a line:
  --sid S                  every event of service S: its objects (cairn.obj.<hash(S)>.>),
                           the service itself (cairn.svc.<hash(S)>.>) and its multipart
                           uploads (cairn.upl.<hash(S)>.>)
  --sid S --path P         every event of one object (cairn.obj.<hash(S)>.<hash(P)>.*)
  --sid S --op OP          one kind of object event in the service (cairn.obj.<hash(S)>.*.OP)
  --sid S --path P --op OP one kind of event of one object: the subject itself
  --account A              the account's own events (cairn.acct.<hash(A)>.>)
hash(x) is the first 16 bytes of SHA-256(x) in hex. OP is put, delete, copy, meta, expire or purge.
`

// subjectCmd prints the subject or filters a NATS consumer uses to follow
// a service, an object, an op or an account.
func subjectCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("subject", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sid := fs.String("sid", "", "service id")
	path := fs.String("path", "", "object path")
	op := fs.String("op", "", "object event op: put, delete, copy, meta, expire, purge")
	account := fs.String("account", "", "account id")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprint(stdout, subjectUsage)
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		return err
	}
	lines, err := subjectFilters(*sid, *path, *op, *account)
	if err != nil {
		fmt.Fprint(stdout, subjectUsage)
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// subjectFilters returns the filters subjectCmd prints.
func subjectFilters(sid, path, op, account string) ([]string, error) {
	ops := []string{schema.OpPut, schema.OpDelete, schema.OpCopy, schema.OpMeta, schema.OpExpire, schema.OpPurge}
	switch {
	case account != "" && (sid != "" || path != "" || op != ""):
		return nil, errors.New("--account goes alone")
	case account != "":
		return []string{schema.AccountSubject(account, ">")}, nil
	case sid == "":
		return nil, errors.New("--sid (or --account) is required")
	case op != "" && !slices.Contains(ops, op):
		return nil, fmt.Errorf("--op %q: want one of %v", op, ops)
	case path != "" && op != "":
		return []string{schema.ObjectSubject(sid, path, op)}, nil
	case path != "":
		return []string{schema.ObjectFilter(sid, path)}, nil
	case op != "":
		return []string{"cairn.obj." + schema.Hash(sid) + ".*." + op}, nil
	}
	return []string{schema.ServiceObjectsFilter(sid), schema.ServiceSubject(sid, ">"), "cairn.upl." + schema.Hash(sid) + ".>"}, nil
}
