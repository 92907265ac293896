package bounce

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// textBounce recognises the bounces that carry no delivery-status part by their wording. It
// returns the dialect's name and the recipients it names, or "" when the text is no bounce it
// knows. Each dialect anchors on a fixed sentence of the software that writes it, so that a
// person's reply quoting a bounce is not taken for one unless it also comes from a mailer.
func textBounce(h getter, text string) (string, []Recipient) {
	if !fromMailer(h.Get("From")) {
		return "", nil
	}
	for _, d := range dialects {
		if rcpts := d.read(h, text); len(rcpts) > 0 {
			return d.name, rcpts
		}
	}
	return "", nil
}

type dialect struct {
	name string
	read func(h getter, text string) []Recipient
}

var dialects = []dialect{
	{"qmail", readQmail},
	{"exim", readExim},
	{"sendmail", readSendmail},
	{"exchange", readExchange},
	{"gmail", readGmail},
	{"generic", readGeneric},
}

// readQmail reads qmail-send's "failure notice": each recipient is a line "<address>:"
// followed by the remote server's reply.
func readQmail(_ getter, text string) []Recipient {
	i := strings.Index(text, "This is the qmail-send program")
	if i < 0 {
		return nil
	}
	text = text[i:]
	if j := strings.Index(text, "--- Below this line is a copy of the message."); j >= 0 {
		text = text[:j]
	}
	var rcpts []Recipient
	var cur *Recipient
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "<") && strings.HasSuffix(line, ">:") {
			rcpts = append(rcpts, Recipient{Address: strings.ToLower(strings.Trim(line, "<>:")), Action: "failed"})
			cur = &rcpts[len(rcpts)-1]
			continue
		}
		if cur != nil && line != "" {
			cur.Diagnostic = oneLine(cur.Diagnostic + " " + line)
		}
	}
	for i := range rcpts {
		rcpts[i].Status = qmailStatus(rcpts[i].Diagnostic)
	}
	return validRecipients(rcpts)
}

// qmailStatus gives qmail's own refusals the enhanced codes their wording means; qmail-send
// writes a failure notice only for permanent failures.
func qmailStatus(diag string) string {
	if s := firstStatus(diag); s != "" {
		return s
	}
	switch {
	case strings.Contains(diag, "no mailbox here by that name"):
		return "5.1.1"
	case strings.Contains(diag, "couldn't find any host"):
		return "5.1.2"
	case strings.Contains(diag, "in the queue too long"):
		return "4.4.7"
	}
	return "5.0.0"
}

// readExim reads Exim's bounce: the failed addresses are in the X-Failed-Recipients header,
// and the text says whether the error is permanent.
func readExim(h getter, text string) []Recipient {
	failed := h.Get("X-Failed-Recipients")
	if failed == "" || !strings.Contains(text, "could not be delivered") {
		return nil
	}
	status := firstStatus(text)
	if status == "" {
		status = "5.0.0"
		if !strings.Contains(text, "permanent error") {
			status = "4.0.0"
		}
	}
	var rcpts []Recipient
	for _, a := range strings.Split(failed, ",") {
		rcpts = append(rcpts, Recipient{Address: fieldAddress(a), Action: "failed", Status: status, Diagnostic: diagnosticNear(text, "")})
	}
	return validRecipients(rcpts)
}

// readSendmail reads old Sendmail's "Returned mail": addresses listed under "The following
// addresses had permanent fatal errors" (or "transient non-fatal errors" for a delay).
func readSendmail(_ getter, text string) []Recipient {
	action, status := "failed", "5.0.0"
	i := strings.Index(text, "The following addresses had permanent fatal errors")
	if i < 0 {
		i = strings.Index(text, "The following addresses had transient non-fatal errors")
		action, status = "delayed", "4.0.0"
	}
	if i < 0 {
		return nil
	}
	block := text[i:]
	block = block[strings.IndexByte(block, '\n')+1:]
	if j := strings.Index(block, "\n\n"); j >= 0 {
		block = block[:j]
	}
	if s := firstStatus(text[i:]); s != "" && s[0] == status[0] {
		status = s
	}
	var rcpts []Recipient
	for _, a := range addressPattern.FindAllString(block, 20) {
		rcpts = append(rcpts, Recipient{Address: strings.ToLower(a), Action: action, Status: status, Diagnostic: diagnosticNear(text[i:], a)})
	}
	return validRecipients(rcpts)
}

// readExchange reads the Exchange and Office 365 texts that come without a report part.
func readExchange(_ getter, text string) []Recipient {
	var block string
	if i := strings.Index(text, "Delivery has failed to these recipients or groups:"); i >= 0 {
		block = text[i+len("Delivery has failed to these recipients or groups:"):]
		if j := strings.Index(block, "Diagnostic information for administrators"); j >= 0 {
			block = block[:j]
		}
	} else if m := exchangeCouldNot.FindStringSubmatchIndex(text); m != nil {
		block = text[m[2]:m[3]]
	} else {
		return nil
	}
	status := firstStatus(text)
	if status == "" {
		status = "5.0.0"
	}
	diag := ""
	if m := exchangeRemote.FindStringSubmatch(text); m != nil {
		diag = oneLine(m[1])
	}
	var rcpts []Recipient
	for _, a := range addressPattern.FindAllString(block, 20) {
		rcpts = append(rcpts, Recipient{Address: strings.ToLower(a), Action: "failed", Status: status, Diagnostic: diag})
	}
	return validRecipients(rcpts)
}

var (
	exchangeCouldNot = regexp.MustCompile(`Your message to (\S+@\S+) couldn't be delivered`)
	exchangeRemote   = regexp.MustCompile(`Remote Server returned '([^']+)'`)
)

// readGmail reads Gmail's "Delivery Status Notification (Failure)" text for the cases where
// it comes without a report part.
func readGmail(_ getter, text string) []Recipient {
	action, status := "failed", "5.0.0"
	i := strings.Index(text, "Delivery to the following recipient failed permanently:")
	if i < 0 {
		i = strings.Index(text, "Delivery to the following recipient has been delayed:")
		action, status = "delayed", "4.0.0"
	}
	if i < 0 {
		return nil
	}
	rest := text[i:]
	a := addressPattern.FindString(rest)
	if a == "" {
		return nil
	}
	diag := ""
	if j := strings.Index(rest, "The response from the remote server was:"); j >= 0 {
		diag = rest[j+len("The response from the remote server was:"):]
		if k := strings.Index(strings.TrimLeft(diag, "\r\n "), "\n\n"); k >= 0 {
			diag = strings.TrimLeft(diag, "\r\n ")[:k]
		}
		diag = oneLine(diag)
		if s := firstStatus(diag); s != "" && s[0] == status[0] {
			status = s
		}
	}
	return validRecipients([]Recipient{{Address: strings.ToLower(a), Action: action, Status: status, Diagnostic: diag}})
}

// readGeneric is the last resort: a message with a bounce subject naming one address and a
// status.
func readGeneric(h getter, text string) []Recipient {
	subject := strings.ToLower(h.Get("Subject"))
	if !genericSubject.MatchString(subject) {
		return nil
	}
	status := firstStatus(text)
	if status == "" {
		return nil
	}
	for _, a := range addressPattern.FindAllString(text, 20) {
		la := strings.ToLower(a)
		if strings.HasPrefix(la, "mailer-daemon@") || strings.HasPrefix(la, "postmaster@") {
			continue
		}
		action := "failed"
		if status[0] == '4' {
			action = "delayed"
		}
		return validRecipients([]Recipient{{Address: la, Action: action, Status: status, Diagnostic: diagnosticNear(text, "")}})
	}
	return nil
}

var genericSubject = regexp.MustCompile(`undeliver|unzustellbar|non recapitabile|non distribuable|toimitus epäonnistui|delivery (status notification|failure|failed|has failed)|returned mail|failure notice|mail delivery failed|nondeliverable|non-delivery`)

// diagnosticNear returns the first line of text, after the address when one is given, that
// holds an SMTP reply code: the remote server's own words.
func diagnosticNear(text, address string) string {
	if address != "" {
		if i := strings.Index(text, address); i >= 0 {
			text = text[i+len(address):]
		}
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if statusCode.MatchString(line) || basicCode.MatchString(line+" ") {
			return oneLine(line)
		}
	}
	return ""
}

// validRecipients keeps the recipients with an address, each address once: texts often
// name a recipient both in their summary and in the transcript.
func validRecipients(rcpts []Recipient) []Recipient {
	out := rcpts[:0]
	seen := map[string]bool{}
	for _, r := range rcpts {
		if addressPattern.MatchString(r.Address) && !seen[r.Address] {
			seen[r.Address] = true
			out = append(out, r)
		}
	}
	return out
}

// htmlText returns the text of an HTML part, for bounces that come as HTML only.
func htmlText(b []byte) string {
	var out strings.Builder
	z := html.NewTokenizer(bytes.NewReader(b))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out.String()
		case html.StartTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				skip++
			case "br", "p", "div", "tr", "li":
				out.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				if skip > 0 {
					skip--
				}
			case "p", "div", "tr", "li":
				out.WriteByte('\n')
			}
		case html.TextToken:
			if skip == 0 {
				out.Write(z.Text())
			}
		}
	}
}

// getter is the one method of a message header the dialects need.
type getter interface{ Get(string) string }

// fromMailer reports whether a From field names mail software rather than a person: bounce
// texts are read only from such senders, so that a person's reply quoting a bounce, or
// naming an address beside "550", is never taken for one.
func fromMailer(from string) bool {
	from = strings.ToLower(from)
	for _, s := range []string{"mailer-daemon", "postmaster", "mail delivery", "microsoftexchange", "mailerdaemon"} {
		if strings.Contains(from, s) {
			return true
		}
	}
	return false
}
