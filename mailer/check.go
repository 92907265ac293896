package mailer

import (
	"context"
	"fmt"
	"os"
)

// Check reports whether t could send now: for a relay, a new connection gets through the
// greeting, EHLO, STARTTLS and AUTH as a send's would, and is closed with QUIT; for the
// outbox, a file can be created in its folder. A readiness probe asks this, so it sends no
// message and leaves the pool of connections alone.
func Check(ctx context.Context, t Transport) error {
	c, ok := t.(interface{ check(context.Context) error })
	if !ok {
		return nil
	}
	return c.check(ctx)
}

func (t *smtpTransport) check(ctx context.Context) error {
	cn, err := t.connect(ctx)
	if err != nil {
		return classify("connect", fmt.Errorf("%s: %w", t.cfg, err))
	}
	cn.close(true)
	return nil
}

func (o *outbox) check(context.Context) error {
	f, err := os.CreateTemp(o.dir, ".check-*")
	if err != nil {
		return fmt.Errorf("outbox %s cannot be written: %w", o.dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
