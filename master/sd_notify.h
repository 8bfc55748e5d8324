#pragma once
// systemd's readiness protocol (Type=notify): a datagram to $NOTIFY_SOCKET. Written here
// rather than linking libsystemd for one sendto(); a no-op when NOTIFY_SOCKET is unset.

#include <string>

namespace sluice::master {

// Sends `state` ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."); false when systemd
// is not listening or the message could not be sent.
bool sd_notify(const std::string& state);

}  // namespace sluice::master
