#!/usr/bin/env python3
"""Generate tests/corpus/nasty/: hand-written broken and tricky messages.

Run from anywhere: python3 tests/corpus/make_nasty.py. The output is
committed; this script documents how each file was made. Messages are
written with LF or CRLF as noted (the fidelity driver converts to CRLF).
"""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nasty")
msgs = {}


def m(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    msgs[name] = data


H = "From: a@example.com\nTo: b@example.com\nSubject: t\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"

# --- empty / truncated ---
m("empty.eml", b"")
m("only-crlf.eml", b"\r\n")
m("only-lf.eml", b"\n")
m("header-no-body.eml", H)
m("header-no-newline.eml", H + "X-Last: no newline at end")
m("header-cr-at-eof.eml", b"Subject: x\r")
m("body-no-header.eml", "\nJust a body\nsecond line\n")
m("one-line.eml", b"Subject: only this")
m("bare-cr.eml", b"Subject: a\rb\r\nFrom: x@y\r\r\n\r\nbody\rmore\r\n")

# --- NUL bytes ---
m("nul-subject.eml", b"Subject: a\x00b\r\nFrom: \"N\x00me\" <a\x00b@c>\r\nTo: x@y (com\x00ment)\r\n\r\nbo\x00dy\r\n")
m("nul-name.eml", b"From\x00junk: a@b\r\nSubject: s\r\n\r\nx\r\n")
m("nul-ct.eml", b"Content-Type: text/plain; charset=\"a\x00b\"; name==?x\x00y\r\n\r\nx\r\n")

# --- 8-bit headers ---
m("8bit-subject.eml", "Subject: Grüße aus Köln\nFrom: Jörg Müller <joerg@exämple.de>\nTo: \"Zoë\" <z@x>\n\nbody\n")
m("latin1-subject.eml", b"Subject: Gr\xfc\xdfe\r\nFrom: J\xf6rg <j@x>\r\n\r\nbody\r\n")
m("8bit-params.eml", "Mime-Version: 1.0\nContent-Type: text/plain; charset=utf-8; name=\"résumé.txt\"\n"
  "Content-Disposition: attachment; filename=\"résumé.txt\"\n\nx\n")

# --- encoded words ---
m("encoded-words.eml", "Subject: =?utf-8?B?SGVsbG8gV29ybGQ=?= =?iso-8859-1?Q?Gr=FC=DFe?=\n"
  "From: =?utf-8?Q?J=C3=B6rg?= <j@x>\nTo: \"=?utf-8?B?Wm/Dqw==?=\" <z@x>, =?x?q?a?= <b@c>\n\nx\n")

# --- addresses ---
m("addr-groups.eml", "From: a@b\nTo: undisclosed-recipients:;\nCc: Friends: a@b, \"C D\" <c@d>;, e@f\n"
  "Bcc: Empty Group:;, Broken Group: x@y\n\nx\n")
m("addr-missing.eml", "From: nodomain\nTo: <>, <@route:a@b>, \"q\"@x, a@, @b, \"Only Name\"\n"
  "Cc: a b c, <a@b\nReply-To: (comment only)\nSender: x@y (The Name)\n\nx\n")
m("addr-routes.eml", "From: Joe <@a.com,@b.com:joe@c.com>\nTo: <@bad joe@x>, \"x\" <@a:>\n"
  "Cc: a.b.@c, .a@b, a..b@c, \"a\\\"b\"@c, a@[1.2.3.4], a@[bad\\]x]\n\nx\n")
m("addr-comments.eml", "From: (c1) a (c2) @ (c3) b (c4)\nTo: a@b (x\\(y) , c@d ((nested) comment)\n"
  "Cc: \"quoted \\\\ name\" <a@b>, \"tab\tname\" <c@d>\n\nx\n")
m("addr-multi-from.eml", "From: a@b\nFrom: c@d\nTo: x@y\nTo: z@w\nSubject: one\nSubject: two\n"
  "Date: first\nDate: second\nMessage-ID: <1@x>\nMessage-ID: <2@x>\nIn-Reply-To: <a>\n\nx\n")
m("addr-trailing.eml", "From: a@b,\nTo: a@b,,c@d, ,\nCc: a@b garbage\nBcc: ,a@b\n\nx\n")
m("addr-long-names.eml", "From: " + ", ".join('"n%d \\"q\\" \\\\" <u%d@x>' % (i, i) for i in range(40)) + "\n\nx\n")

# --- subjects and strings ---
m("subject-quotes.eml", 'Subject: a"b\\c"d"e\nIn-Reply-To: <"a"@b> "c" "d" "e" "f"\nMessage-ID: <a\\b\\c\\d\\e@x>\n\nx\n')
m("subject-ws.eml", "Subject: \t  lead  \t mid \t trail \t \nDate: Mon, 1 Jan\n 2024 10:00:00\n\t+0000\n"
  "Message-ID:\n <folded@x>\n\nx\n")
m("subject-empty.eml", "Subject:\nFrom:\nTo: \n\nx\n")
m("subject-only-ws.eml", "Subject:   \t  \nDate:  \n\nx\n")
m("header-odd-lines.eml", " starts with space\nNo colon here\nName With Space : v\nX-A:b\n"
  "Subject :  spaced name\n" + "L" * 1200 + ": long name\n\nx\n")
m("header-folded.eml", "Subject: line1\n line2\n\tline3\n \nFrom: a\n @b\n\nx\n")

# --- content-type variants ---
def ct(name, ctype, extra="", mimever=True, body="x\n"):
    m(name, ("Mime-Version: 1.0\n" if mimever else "") + "Content-Type: " + ctype + "\n" + extra + "\n" + body)

ct("ct-type-only.eml", "text")
ct("ct-type-slash.eml", "text/")
ct("ct-upper.eml", "TEXT/PLAIN; CHARSET=ISO-8859-1; Format=Flowed")
ct("ct-garbage.eml", "text/plain garbage; charset=x")
ct("ct-comments.eml", "text/plain (a comment); charset=\"utf-8\" (another); delsp=yes")
ct("ct-quoted.eml", "text/plain; name=\"a \\\"b\\\" c\"; x=\"\"; y=; z")
ct("ct-eq-workaround.eml", "text/plain; name==?utf-8?b?w7Y=?=; other=ok")
ct("ct-junk-params.eml", "text/plain; ; charset=us-ascii;; junk ; a=b c=d; e=f")
ct("ct-app.eml", "application/octet-stream; name=a.bin", "Content-Transfer-Encoding: BASE64\n", body="AAAA\n")
ct("ct-image-noparams.eml", "image/png", "Content-Transfer-Encoding: base64 junk\n", body="AAAA\n")
ct("ct-message-other.eml", "message/delivery-status")
ct("ct-duplicate.eml", "text/html", "Content-Type: text/plain\n")
ct("ct-no-mimever.eml", "text/html; charset=x", mimever=False)
m("cte-no-mime.eml", "Content-Transfer-Encoding: base64\nContent-Description: d\n\nAAAA\n")
m("mimever-only.eml", "Mime-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\nContent-ID: <id>\n\nx=20\n")

# --- RFC 2231 ---
ct("rfc2231-basic.eml", "application/x; name*=utf-8''%E2%82%AC.txt",
   "Content-Disposition: attachment; filename*0*=utf-8''a%20; filename*1=b%c; filename*2=\"d e\"\n")
ct("rfc2231-missing.eml", "application/x; name*0=a; name*2=c; title*1=x",
   "Content-Disposition: inline; f*0=a; f*1=b; F*2=c; g*=x; g*3=y\n")
ct("rfc2231-stale-idx.eml", "application/x; a*5=q; b*=z; c*0*=x; c*=y")
ct("rfc2231-case.eml", "application/x; Name*0=A; name*1=b; NAME*2=c; other=1")
ct("rfc2231-weird.eml", "application/x; n*x=1; n**=2; n*1x=3; *=4; n*01=5; n*0=6")

# --- disposition / language / location / md5 ---
ct("ext-fields.eml", "text/plain", "Content-Disposition: inline\nContent-Disposition: attachment; filename=x\n"
   "Content-Language: en-US, de (German),fr\nContent-Location: http://x/y\n z\nContent-MD5: abc==\n"
   "Content-ID: <id\n @x>\nContent-Description: desc \"q\"\n")
ct("ext-fields2.eml", "text/plain", "Content-Disposition: attachment; filename=a\nContent-Disposition: inline\n"
   "Content-Language: \nContent-Language: en\nContent-Location:\n")
ct("ext-lang-bad.eml", "text/plain", "Content-Disposition: ;x=y\nContent-Language: en, , de\n")

# --- multipart ---
def mp(boundary_param, parts, pre="preamble\n", post="epilogue\n", sub="mixed", extra="", close=True, b=None):
    b = b if b is not None else boundary_param
    s = "Mime-Version: 1.0\nContent-Type: multipart/%s; boundary=\"%s\"\n%s\n%s" % (sub, boundary_param, extra, pre)
    for p in parts:
        s += "--%s\n%s" % (b, p)
    if close:
        s += "--%s--\n%s" % (b, post)
    return s

TP = "Content-Type: text/plain\n\nhello\n"
m("mp-simple.eml", mp("b1", [TP, "Content-Type: text/html; charset=utf-8\n\n<p>x</p>\n"]))
m("mp-no-close.eml", mp("b1", [TP, TP], close=False))
m("mp-no-parts.eml", mp("b1", []))
m("mp-no-boundary.eml", "Mime-Version: 1.0\nContent-Type: multipart/mixed\n\n--b1\n" + TP + "--b1--\n")
m("mp-boundary-never.eml", mp("zz", [], pre="no boundary here\n--z\n", close=False))
m("mp-empty-boundary.eml", mp("", [TP, TP]))
m("mp-prefix.eml", mp("ab", [TP], b="abcdef") + "--ab\n" + TP + "--ab--\n")
m("mp-nested-same.eml", mp("x", [mp("x", [TP, TP]), TP]))
m("mp-nested-prefix.eml", mp("a", [mp("ab", [TP, TP]), TP]))
m("mp-nested-prefix2.eml", mp("ab", [mp("a", [TP, TP]), TP]))
m("mp-part-no-header.eml", mp("b", ["\nno header\n", "", "\n", "Content-Type: text/plain\n"]))
m("mp-boundary-in-header.eml", mp("b", ["Content-Type: text/plain\nX-A: 1\n", "Content-Type: message/rfc822\n", TP]))
m("mp-boundary-trailing.eml", mp("b", [TP]).replace("--b\n", "--b   trailing junk\n") )
m("mp-crlf-mix.eml", mp("b", [TP, TP]).replace("\n", "\r\n", 3))
m("mp-digest.eml", mp("d", ["\nFrom: x@y\nSubject: in digest\n\nbody\n", "Content-Type: text/plain\n\nplain\n",
                             "Subject: no blank line first\n\nbody\n"], sub="digest"))
m("mp-alternative-related.eml", mp("o", [mp("i", [TP, "Content-Type: text/html\n\n<b>x</b>\n"], sub="alternative"),
                                        "Content-Type: image/png\nContent-ID: <img>\nContent-Transfer-Encoding: base64\n\nAAAA\n"],
                                   sub="related", extra="Content-Disposition: inline\nContent-Language: en\n"))
m("mp-params.eml", mp("b", [TP], extra="Content-Location: loc\n").replace("boundary=\"b\"", "boundary=\"b\"; type=\"text/html\"; start=\"<x>\""))
m("mp-long-boundary.eml", mp("B" * 100, [TP, TP]))
m("mp-boundary-dashes.eml", mp("b--", [TP]) + "--b\n" + TP)
m("mp-text-after-close.eml", mp("b", [TP], post="--b\nnot a part\n--b--\n"))
m("mp-8bit-boundary.eml", mp("bö", [TP, TP]))
m("mp-ws-only-lines.eml", mp("b", ["Content-Type: text/plain\n \n\nbody\n"]))

# --- message/rfc822 ---
INNER = "From: inner@x\nSubject: inner\nDate: Tue, 2 Jan 2024 11:00:00 +0100\n\ninner body\nline\n"
m("rfc822-simple.eml", mp("b", [TP, "Content-Type: message/rfc822\n\n" + INNER]))
m("rfc822-root.eml", "Mime-Version: 1.0\nContent-Type: message/rfc822\nSubject: outer\n\n" + INNER)
m("rfc822-no-header.eml", mp("b", ["Content-Type: message/rfc822\n\n\njust body\n"]))
m("rfc822-empty.eml", mp("b", ["Content-Type: message/rfc822\n\n"]))
m("rfc822-eof.eml", "Mime-Version: 1.0\nContent-Type: message/rfc822\n\n")
m("rfc822-multipart.eml", mp("b", ["Content-Type: message/rfc822\n\n" + "From: x@y\n" + mp("c", [TP, TP])]))
m("rfc822-nested-bound.eml", mp("b", ["Content-Type: message/rfc822\n\nSubject: cut\n"]))
m("rfc822-global.eml", mp("b", ["Content-Type: message/global\n\n" + INNER]))


def deep_multipart(n):
    s = ""
    for i in range(n):
        s += "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n" % (i, i + 1)
    s += "--b%d\n%s" % (n, TP)
    for i in range(n, -1, -1):
        s += "--b%d--\n" % i
    return "Mime-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n" + s


m("deep-multipart-50.eml", deep_multipart(50))
m("deep-multipart-98.eml", deep_multipart(98))
m("deep-multipart-99.eml", deep_multipart(99))
m("deep-multipart-150.eml", deep_multipart(150))


def deep_rfc822(n):
    s = ""
    for i in range(n):
        s += "Subject: level %d\nMime-Version: 1.0\nContent-Type: message/rfc822\n\n" % i
    return s + "Subject: bottom\n\nbottom body\n"


m("deep-rfc822-20.eml", deep_rfc822(20))
m("deep-rfc822-99.eml", deep_rfc822(99))
m("deep-rfc822-120.eml", deep_rfc822(120))
m("many-parts-10005.eml", mp("b", ["\n"] * 10005))
m("many-parts-9998.eml", mp("b", ["\n"] * 9998))
m("many-parts-nested.eml", mp("o", [mp("i%d" % k, ["\n"] * 2000) for k in range(6)]))

# --- long lines ---
m("long-header-line.eml", "Subject: " + "word " * 60000 + "\nFrom: a@b\n\nx\n")
m("long-header-nospace.eml", "X-Long: " + "x" * 300000 + "\nSubject: after\n\nx\n")
m("long-body-line.eml", H + "\n" + "y" * 500000 + "\nshort\n")
m("long-boundary-line.eml", mp("b", [TP]).replace("--b\n", "--b" + "z" * 100000 + "\n", 1))
m("many-headers.eml", "".join("To: u%d@x\n" % i for i in range(3000)) + "\nx\n")

with_nul = b"Mime-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\na\x00b\r\n--b\x00\r\n--b--\r\n"
m("nul-multipart.eml", with_nul)

os.makedirs(OUT, exist_ok=True)
for name, data in msgs.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print("wrote %d files to %s" % (len(msgs), OUT))
