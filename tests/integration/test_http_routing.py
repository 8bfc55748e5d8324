"""ACLs, use_backend and HTTP rules through the real binary: each fetch, matcher and
action, the legacy req*/rsp* keywords, option forwardfor, and the seed notes' ProxyPass
translation in both its legacy and modern forms."""

import unittest

from harness import Sluice, TempDirTest, free_port
from http_peers import RecordingBackend, config_head, get, ok_response

HEAD = config_head()


def ret(name, acl):
    return f"    http-request return status 200 content-type text/plain string {name} if {acl}\n"


class AclTest(TempDirTest):
    """One frontend whose `return` rules say which ACL matched first."""

    @classmethod
    def acls(cls, port):
        acls = {
            "str": "hdr(host) exact.test other.test",
            "icase": "hdr(host) -i CASE.TEST",
            "beg": "path_beg /beg/",
            "end": "path_end .jpg",
            "sub": "path_sub /middle/",
            "reg": "path_reg ^/re+g/[0-9]+$",
            "dir": "path_dir dir1",
            "dom": "hdr_dom(host) sub.example",
            "url": "url_beg /url-",
            "query": "query -m sub token=",
            "param": "url_param(user) alice",
            "urlp_int": "urlp(id) -m int 10:20",
            "method": "method PUT",
            "ver": "req.ver 1.0",
            "cnt": "req.hdr_cnt(x-multi) ge 2",
            "val": "hdr_val(x-num) gt 100",
            "len": "hdr_len(x-len) 5",
            "found": "hdr(x-flag) -m found",
            "cook": "cook(session) abc",
            "base": "base_beg base.test/b",
            "src_other": "src 10.0.0.0/8",
            "nbsrv": "nbsrv(empty) eq 0",
            "dst_port": f"dst_port {port}",
        }
        return acls

    def setUp(self):
        super().setUp()
        self.port = free_port()
        acls = self.acls(self.port)
        text = HEAD + f"frontend fe\n    bind 127.0.0.1:{self.port}\n"
        for name, spec in acls.items():
            text += f"    acl a_{name} {spec}\n"
        # nbsrv and dst_port match every request: they go last, as fallbacks.
        for name in acls:
            if name not in ("dst_port", "nbsrv"):
                text += ret(name, f"a_{name}")
        text += ret("anon", "{ hdr(x-anon) -m str yes }")
        text += ret("or", "{ hdr(x-or1) -m found } || { hdr(x-or2) -m found }")
        text += ret("not", "{ hdr(x-neg) -m found } !{ path /skip }")
        text += ("    http-request return status 200 content-type text/plain string unless "
                 "unless !{ hdr(x-unless) -m found }\n")
        text += ret("dst_port", "a_dst_port { hdr(x-port) -m found }")
        text += ret("nbsrv", "a_nbsrv")
        text += "    default_backend empty\nbackend empty\n"
        Sluice(self, text, [self.port])

    def which(self, target="/", headers=(), method="GET", version="HTTP/1.1"):
        r = get(self.port, target, headers=headers, method=method, version=version)
        self.assertEqual(r.status, 200, r)
        return r.body.decode()

    def test_each_fetch_and_matcher(self):
        cases = [
            ("str", dict(headers=[("Host", "other.test")])),
            ("icase", dict(headers=[("Host", "case.test")])),
            ("beg", dict(target="/beg/x")),
            ("end", dict(target="/img/a.jpg")),
            ("sub", dict(target="/a/middle/b")),
            ("reg", dict(target="/reeeg/42")),
            ("dir", dict(target="/x/dir1/y")),
            ("dom", dict(headers=[("Host", "www.sub.example.org")])),
            ("url", dict(target="/url-thing")),
            ("query", dict(target="/q?a=1&token=2")),
            ("param", dict(target="/p?x=1&user=alice")),
            ("urlp_int", dict(target="/p?id=15")),
            ("method", dict(method="PUT")),
            ("ver", dict(version="HTTP/1.0")),
            ("cnt", dict(headers=[("X-Multi", "a"), ("X-Multi", "b")])),
            ("val", dict(headers=[("X-Num", "101")])),
            ("len", dict(headers=[("X-Len", "abcde")])),
            ("found", dict(headers=[("X-Flag", "")])),
            ("cook", dict(headers=[("Cookie", "a=1; session=abc")])),
            ("base", dict(headers=[("Host", "base.test")], target="/base")),
            ("nbsrv", dict()),
            ("anon", dict(headers=[("X-Anon", "yes")])),
            ("or", dict(headers=[("X-Or2", "1")])),
            ("not", dict(headers=[("X-Neg", "1")], target="/keep")),
            ("unless", dict(headers=[("X-Unless", "1")])),
            ("dst_port", dict(headers=[("X-Port", "1")])),
        ]
        for expected, kw in cases:
            with self.subTest(acl=expected):
                self.assertEqual(self.which(**kw), expected)

    def test_non_matching_values_fall_through(self):
        # nbsrv matches every request; these must not stop earlier.
        for kw in [dict(headers=[("Host", "nope.test")]), dict(target="/beg"),
                   dict(target="/p?id=21"), dict(headers=[("X-Num", "100")]),
                   dict(headers=[("X-Len", "abcd")]), dict(target="/rg/42"),
                   dict(headers=[("Host", "notsub.example.org")]),
                   dict(headers=[("X-Neg", "1")], target="/skip")]:
            with self.subTest(**{k: str(v) for k, v in kw.items()}):
                self.assertEqual(self.which(**kw), "nbsrv")


class UseBackendTest(TempDirTest):
    def test_use_backend_in_order_default_and_503(self):
        a, b = RecordingBackend(self, "a"), RecordingBackend(self, "b")
        port = free_port()
        Sluice(self, HEAD + f"""
frontend fe
    bind 127.0.0.1:{port}
    acl api path_beg /api
    acl v2 path_beg /api/v2
    acl local src 127.0.0.1
    use_backend be_b if v2
    use_backend be_a if api local
    use_backend be_none if {{ path /none }}
    default_backend be_b
backend be_a
    server a 127.0.0.1:{a.port}
backend be_b
    server b 127.0.0.1:{b.port}
backend be_none
""", [port])
        self.assertEqual(get(port, "/api/v2/x").body, b"b")
        self.assertEqual(get(port, "/api/x").body, b"a")
        self.assertEqual(get(port, "/other").body, b"b")
        self.assertEqual(get(port, "/none").status, 503)


class RulesTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.b = RecordingBackend(self, "b")
        self.port = free_port()

    def start(self, frontend_rules, backend_rules=""):
        Sluice(self, HEAD + f"""
frontend fe
    bind 127.0.0.1:{self.port}
{frontend_rules}
    default_backend app
backend app
{backend_rules}
    server s1 127.0.0.1:{self.b.port}
""", [self.port])

    def test_header_actions(self):
        self.start("""
    http-request set-header X-Set %[src]
    http-request add-header X-Add one
    http-request add-header X-Add two
    http-request del-header X-Remove
    http-request replace-header X-Rep internal public
    http-request replace-value X-Vals ^a(.*) A\\1
    http-request set-header X-Host-Copy %[req.hdr(host)]
""")
        get(self.port, "/", headers=[("X-Remove", "1"), ("X-Rep", "the internal host"),
                                     ("X-Vals", "ab, c, ad")])
        req = self.b.last()
        self.assertEqual(req.header("X-Set"), ["127.0.0.1"])
        self.assertEqual(req.header("X-Add"), ["one", "two"])
        self.assertEqual(req.header("X-Remove"), [])
        self.assertEqual(req.header("X-Rep"), ["public"])  # a match replaces the whole value
        self.assertEqual(req.header("X-Vals"), ["Ab, c, Ad"])
        self.assertEqual(req.header("X-Host-Copy"), ["example.test"])

    def test_path_uri_query_method_actions(self):
        self.start("""
    http-request set-path /new%[path] if { path_beg /sp }
    http-request replace-path ^/rp/(.*) /\\1 if { path_beg /rp/ }
    http-request replace-uri ^/ru/(.*) /uri/\\1 if { path_beg /ru/ }
    http-request set-uri /fixed?x=1 if { path /su }
    http-request set-query q=2 if { path /sq }
    http-request set-method POST if { path /sm }
""")
        expect = {"/sp/a?k=v": "/new/sp/a?k=v", "/rp/x/y?k=v": "/x/y?k=v",
                  "/ru/z?k=v": "/uri/z?k=v", "/su": "/fixed?x=1", "/sq?a=b": "/sq?q=2"}
        for sent, seen in expect.items():
            with self.subTest(sent=sent):
                get(self.port, sent)
                self.assertEqual(self.b.last().target, seen)
        get(self.port, "/sm")
        self.assertEqual(self.b.last().method, "POST")

    def test_redirects(self):
        self.start("""
    http-request redirect location /moved code 301 if { path /loc }
    http-request redirect prefix /pre code 308 if { path_beg /p/ }
    http-request redirect prefix /pre drop-query if { path_beg /dq/ }
    http-request redirect scheme https code 303 if { path_beg /s/ }
    http-request redirect location /c set-cookie seen=1 code 307 if { path /cookie }
    redirect prefix /slash append-slash if { path_beg /as }
""")
        r = get(self.port, "/loc?x=1")
        self.assertEqual((r.status, r.header("Location")), (301, "/moved"))
        r = get(self.port, "/p/a?x=1")
        self.assertEqual((r.status, r.header("Location")), (308, "/pre/p/a?x=1"))
        r = get(self.port, "/dq/a?x=1")
        self.assertEqual((r.status, r.header("Location")), (302, "/pre/dq/a"))
        r = get(self.port, "/s/a?x=1", headers=[("Host", "h.test:8080")])
        self.assertEqual((r.status, r.header("Location")), (303, "https://h.test:8080/s/a?x=1"))
        r = get(self.port, "/cookie")
        self.assertEqual(r.status, 307)
        self.assertTrue(r.header("Set-Cookie").startswith("seen=1"))
        r = get(self.port, "/as")
        self.assertEqual(r.header("Location"), "/slash/as/")
        self.assertEqual(self.b.count(), 0)

    def test_return_deny_allow(self):
        self.start("""
    http-request allow if { path /allowed }
    http-request deny if { path_beg /allowed }
    http-request deny if { path /denied }
    http-request deny deny_status 429 if { path /slow-down }
    http-request return status 202 content-type text/plain lf-string "hi %[src]" hdr X-R yes if { path /ret }
""")
        self.assertEqual(get(self.port, "/allowed").status, 200)
        r = get(self.port, "/denied")
        self.assertEqual(r.status, 403)
        self.assertIn(b"Request forbidden", r.body)
        self.assertEqual(get(self.port, "/slow-down").status, 429)
        r = get(self.port, "/ret")
        self.assertEqual((r.status, r.body, r.header("X-R")), (202, b"hi 127.0.0.1", "yes"))
        self.assertEqual(self.b.count(), 1)

    def test_response_rules(self):
        self.b.respond = lambda req: ok_response(
            "b", extra=b"X-Internal: secret\r\nX-Vals: a1, b2\r\nServer: app/1.0\r\n" +
            (b"X-Mark: 1\r\n" if req.target == "/st" else b""),
            status=b"404 Not Found" if req.target == "/missing" else b"200 OK")
        self.start("""
    http-response set-header X-Seen-404 yes if { status 404 }
    http-response add-header X-Fe fe
""", """
    http-response del-header X-Internal
    http-response replace-value X-Vals ^a(.*) A\\1
    http-response replace-header Server ^app/.* hidden
    http-response set-status 299 reason Fine if { res.hdr(X-Backend) -m str b } { res.hdr(X-Mark) -m found }
    http-response set-header X-Never yes if { path /st }
""")
        r = get(self.port, "/missing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("X-Seen-404"), "yes")
        self.assertIsNone(r.header("X-Internal"))
        self.assertEqual(r.header("X-Vals"), "A1, b2")
        self.assertEqual(r.header("Server"), "hidden")
        self.assertEqual(r.header("X-Fe"), "fe")
        r = get(self.port, "/st")
        self.assertEqual((r.status, r.reason), (299, "Fine"))
        self.assertIsNone(r.header("X-Seen-404"))
        # Request fetches are gone once the response is processed (as in HAProxy).
        self.assertIsNone(r.header("X-Never"))

    def test_remaining_fetches(self):
        self.start("""
    http-request set-header X-Len yes if { req.len gt 10 }
    http-request set-header X-Dst yes if { dst 127.0.0.1 }
    http-request set-header X-Src-Port yes if { src_port 1:65535 }
    http-request set-header X-True yes if TRUE
    http-request set-header X-False yes if FALSE
    http-request set-header X-Ssl yes if { ssl_fc }
    http-request set-header X-Http yes if HTTP
    http-request set-header X-Get yes if METH_GET
    http-request set-header X-Local yes if LOCALHOST
    http-response set-header X-Res-Ver yes if { res.ver 1.1 }
    http-response set-header X-Res-Cnt yes if { res.hdr_cnt(x-backend) eq 1 }
""")
        r = get(self.port, "/")
        req = self.b.last()
        for name in ("X-Len", "X-Dst", "X-Src-Port", "X-True", "X-Http", "X-Get", "X-Local"):
            self.assertEqual(req.header(name), ["yes"], name)
        for name in ("X-False", "X-Ssl"):
            self.assertEqual(req.header(name), [], name)
        self.assertEqual(r.header("X-Res-Ver"), "yes")
        self.assertEqual(r.header("X-Res-Cnt"), "yes")

    def test_forwardfor(self):
        self.start("    option forwardfor")
        get(self.port, "/", headers=[("X-Forwarded-For", "192.0.2.1")])
        self.assertEqual(self.b.last().header("X-Forwarded-For"), ["192.0.2.1", "127.0.0.1"])

    def test_forwardfor_header_except_if_none(self):
        self.start("    option forwardfor header X-Client if-none",
                   "")
        get(self.port, "/")
        self.assertEqual(self.b.last().header("X-Client"), ["127.0.0.1"])
        get(self.port, "/", headers=[("X-Client", "given")])
        self.assertEqual(self.b.last().header("X-Client"), ["given"])

    def test_forwardfor_except_network(self):
        self.start("    option forwardfor except 127.0.0.0/8")
        get(self.port, "/")
        self.assertEqual(self.b.last().header("X-Forwarded-For"), [])

    def test_legacy_request_keywords(self):
        self.start("""
    reqrep ^(GET)\\ /old/(.*) \\1\\ /new/\\2
    reqirep ^x-case:\\ (.*) X-Case:\\ seen-\\1
    reqdel ^X-Drop:
    reqidel ^x-idrop:
    reqadd X-Added:\\ yes
    reqallow ^GET\\ /ok
    reqdeny ^GET\\ /(ok|no)
""")
        get(self.port, "/old/a", headers=[("X-CASE", "v"), ("X-Drop", "1"), ("X-IDrop", "2")])
        req = self.b.last()
        self.assertEqual(req.target, "/new/a")
        self.assertEqual(req.header("X-Case"), ["seen-v"])
        self.assertEqual(req.header("X-Drop"), [])
        self.assertEqual(req.header("X-IDrop"), [])
        self.assertEqual(req.header("X-Added"), ["yes"])
        self.assertEqual(get(self.port, "/ok").status, 200)
        self.assertEqual(get(self.port, "/no").status, 403)

    def test_legacy_response_keywords(self):
        self.b.respond = lambda req: ok_response("b", extra=b"X-Secret: 1\r\nX-Ver: 1.2\r\n" + (
            b"X-Block: 1\r\n" if req.target == "/blocked" else b""))
        self.start("""
    rspdel ^X-Secret:
    rsprep ^X-Ver:\\ (.*) X-Ver:\\ v\\1
    rspadd X-Frontend:\\ fe
    rspideny ^x-ver:\\ v1\\.2 if { res.hdr(x-block) -m found }
""")
        r = get(self.port, "/")
        self.assertIsNone(r.header("X-Secret"))
        self.assertEqual(r.header("X-Ver"), "v1.2")
        self.assertEqual(r.header("X-Frontend"), "fe")
        self.assertEqual(get(self.port, "/blocked").status, 502)


SEED_LEGACY = r"""
    http-request set-header Host bk.dom.com
    reqirep  ^([^\ :]*)\ /mirror/foo/(.*)     \1\ /\2
    acl hdr_location res.hdr(Location) -m found
    rspirep ^Location:\ (https?://bk.dom.com(:[0-9]+)?)?(/.*) Location:\ /mirror/foo\3 if hdr_location
    acl hdr_set_cookie_dom res.hdr(Set-cookie) -m sub Domain= bk.dom.com
    rspirep ^(Set-Cookie:.*)\ Domain=bk.dom.com(.*) \1\ Domain=dom.com\2 if hdr_set_cookie_dom
    acl hdr_set_cookie_path res.hdr(Set-cookie) -m sub Path=
    rspirep ^(Set-Cookie:.*)\ Path=(.*) \1\ Path=/mirror/foo\2 if hdr_set_cookie_path
"""

SEED_MODERN = r"""
    http-request set-header Host bk.dom.com
    http-request replace-path ^/mirror/foo/(.*) /\1
    http-response replace-header Location ^(https?://bk.dom.com(:[0-9]+)?)?(/.*)$ /mirror/foo\3
    http-response replace-header Set-Cookie (.*)\ Domain=bk.dom.com(.*) \1\ Domain=dom.com\2
    http-response replace-header Set-Cookie (.*)\ Path=(.*) \1\ Path=/mirror/foo\2
"""


class SeedScenarioTest(TempDirTest):
    """The seed notes: Apache ProxyPass/ProxyPassReverse as HAProxy rules."""

    def run_scenario(self, backend_rules):
        b = RecordingBackend(self, "bk", respond=lambda req: ok_response(
            "bk", extra=b"Location: http://bk.dom.com/x\r\n"
                        b"Set-Cookie: id=1; Domain=bk.dom.com; Path=/\r\n"))
        port = free_port()
        Sluice(self, HEAD + f"""
frontend ft_global
    bind 127.0.0.1:{port}
    acl host_dom.com    req.hdr(Host) dom.com
    acl path_mirror_foo path -m beg   /mirror/foo/
    use_backend bk_myapp if host_dom.com path_mirror_foo
backend bk_myapp
    server bk1 127.0.0.1:{b.port}
{backend_rules}
""", [port])
        r = get(port, "/mirror/foo/bar", headers=[("Host", "dom.com")])
        self.assertEqual(r.status, 200)
        req = b.last()
        self.assertEqual(req.target, "/bar")
        self.assertEqual(req.header("Host"), ["bk.dom.com"])
        self.assertEqual(r.header("Location"), "/mirror/foo/x")
        self.assertEqual(r.header("Set-Cookie"), "id=1; Domain=dom.com; Path=/mirror/foo/")
        # Not for this site: no backend, 503.
        self.assertEqual(get(port, "/mirror/foo/bar", headers=[("Host", "other.com")]).status, 503)

    def test_legacy_form(self):
        self.run_scenario(SEED_LEGACY)

    def test_modern_form(self):
        self.run_scenario(SEED_MODERN)


if __name__ == "__main__":
    unittest.main()
