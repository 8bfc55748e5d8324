"""No per-request heap churn: once a keep-alive connection is warm, a worker serving
requests through rules, rewrites, forwardfor and the access log does not call malloc.

A tiny preload library counts malloc/calloc/realloc calls in every process and writes the
count to a file on SIGUSR2. Skipped under sanitizers (their runtime must come first)."""

import os
import shutil
import signal
import subprocess
import unittest

from harness import Sluice, TempDirTest, free_port, wait_for
from http_peers import Client, RecordingBackend

COUNTER = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static atomic_ulong count;
extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
void* malloc(size_t n) { atomic_fetch_add(&count, 1); return __libc_malloc(n); }
void* calloc(size_t a, size_t b) { atomic_fetch_add(&count, 1); return __libc_calloc(a, b); }
void* realloc(void* p, size_t n) { atomic_fetch_add(&count, 1); return __libc_realloc(p, n); }
static char dir[512];
static void dump(int sig) {
  (void)sig;
  unsigned long n = atomic_load(&count);
  char path[600];
  snprintf(path, sizeof path, "%s/count.%d", dir, (int)getpid());
  FILE* f = fopen(path, "w");
  if (f) { fprintf(f, "%lu\n", n); fclose(f); }
}
__attribute__((constructor)) static void init(void) {
  const char* d = getenv("MALLOC_COUNT_DIR");
  if (!d) return;
  snprintf(dir, sizeof dir, "%s", d);
  signal(SIGUSR2, dump);
}
"""


def sanitized(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return "libasan" in out or "libubsan" in out


class AllocationTest(TempDirTest):
    def setUp(self):
        super().setUp()
        from harness import SLUICE
        if shutil.which("cc") is None or sanitized(SLUICE):
            self.skipTest("needs cc and a build without sanitizers")
        src = self.write("count.c", COUNTER)
        self.lib = os.path.join(self.dir, "count.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", self.lib, src], check=True)

    def count(self, pid):
        path = os.path.join(self.dir, f"count.{pid}")
        if os.path.exists(path):
            os.unlink(path)
        os.kill(pid, signal.SIGUSR2)
        wait_for(lambda: os.path.exists(path) and open(path).read().endswith("\n"),
                 what="the allocation count")
        return int(open(path).read())

    def test_warm_keep_alive_requests_do_not_allocate(self):
        b = RecordingBackend(self, "b")
        port = free_port()
        os.environ["LD_PRELOAD"] = self.lib
        os.environ["MALLOC_COUNT_DIR"] = self.dir
        try:
            s = Sluice(self, f"""global
    workers 1
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    option forwardfor
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{port}
    acl api path_beg /api/
    http-request set-header X-Request-Path %[path]
    http-request add-header X-Client %[src]
    use_backend app if api
    default_backend app
backend app
    http-request replace-path ^/api/(.*) /\\1
    http-response set-header X-Served-By sluice
    http-response del-header Server
    server s1 127.0.0.1:{b.port}
""", [port])
        finally:
            del os.environ["LD_PRELOAD"]
            del os.environ["MALLOC_COUNT_DIR"]
        worker = int(subprocess.run(["pgrep", "-P", str(s.proc.pid), "-f", "sluice: worker"],
                                    capture_output=True, text=True).stdout.split()[0])
        c = Client(port)

        def requests(n):
            for i in range(n):
                c.send(b"GET /api/items/%d?page=2 HTTP/1.1\r\nHost: shop.test\r\n"
                       b"User-Agent: allocation-test/1.0 (a long enough user agent)\r\n"
                       b"Accept: */*\r\n\r\n" % (i % 10))
                r = c.response()
                self.assertEqual(r.status, 200)

        requests(200)  # warm-up: buffers, pools and caches reach their size
        before = self.count(worker)
        n = 2000
        requests(n)
        after = self.count(worker)
        c.close()
        per_request = (after - before) / n
        print(f"\n  allocations per warm request: {per_request:.4f} ({after - before} in {n})")
        # A handful of calls come from writing the count itself.
        self.assertLess(per_request, 0.05)
        self.assertEqual(b.last().target, "/items/9?page=2")


if __name__ == "__main__":
    unittest.main()
