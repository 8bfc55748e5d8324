"""A TLS-speaking HTTP/1.1 upstream for server-side TLS tests: http_peers.RecordingBackend
(records every request, answers what the test says) whose accepted connections are TLS.

The TLS handshake is done in the accept loop (with a timeout), so each handshake is
recorded as it happens: `handshakes` lists {sni, version, cipher, resumed} of the successful ones,
`failed_handshakes` the error text of the others (e.g. the proxy refused our certificate:
"TLSV1_ALERT_UNKNOWN_CA"). The requests themselves are recorded by RecordingBackend."""

import ssl

from http_peers import RecordingBackend


class TlsRecordingBackend(RecordingBackend):
    def __init__(self, test, bundle, name="tls", respond=None, max_version=None):
        super().__init__(test, name, respond)
        self.handshakes = []
        self.failed_handshakes = []
        self._sni = None
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(bundle)
        if max_version is not None:
            self.ctx.maximum_version = max_version
        self.ctx.sni_callback = self._on_sni
        listener = self.server.socket
        backend = self

        def get_request():
            # Runs in the accept loop: the handshake is done here so that its outcome is
            # known per connection; the handler threads then read and write decrypted.
            sock, addr = listener.accept()
            backend._sni = None
            sock.settimeout(5.0)
            try:
                tls = backend.ctx.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as e:
                with backend.lock:
                    backend.failed_handshakes.append(str(e))
                sock.close()
                raise OSError(f"handshake failed: {e}")
            tls.settimeout(None)
            with backend.lock:
                backend.handshakes.append({"sni": backend._sni, "version": tls.version(),
                                           "cipher": tls.cipher()[0],
                                           "resumed": tls.session_reused})
            return tls, addr

        # socketserver calls self.get_request() for each readable accept; an instance
        # attribute takes precedence over the method.
        self.server.get_request = get_request

    def _on_sni(self, sslobj, server_name, ctx):
        self._sni = server_name
        return None

    def snis(self):
        with self.lock:
            return [h["sni"] for h in self.handshakes]
