#pragma once
// Counts a worker's live sessions, so a draining worker knows when the last one has ended
// (its event loop also waits on signals and timers, so "no more work" never comes alone).

#include <cstddef>
#include <functional>

namespace sluice::worker {

class session_tracker {
 public:
  void enter() { ++live_; }
  void leave() {
    if (--live_ == 0 && draining_ && on_drained_) on_drained_();
  }
  // From now on, `done` runs when the count reaches zero (at once if it already is).
  // Keep-alive sessions answer their next request with `Connection: close` from then on,
  // and an idle one closes when its keep-alive timeout ends, not at once: closing it now
  // would race with a client that is sending its next request.
  void drain(std::function<void()> done) {
    draining_ = true;
    on_drained_ = std::move(done);
    if (live_ == 0) on_drained_();
  }
  bool draining() const { return draining_; }
  // Forgets the drain callback (before the loop it would post to goes away).
  void cancel_drain() {
    draining_ = false;
    on_drained_ = nullptr;
  }
  size_t live() const { return live_; }

 private:
  size_t live_ = 0;
  bool draining_ = false;
  std::function<void()> on_drained_;
};

// Holds one count for as long as it lives (moved: the new owner holds it).
class session_ticket {
 public:
  explicit session_ticket(session_tracker& t) : tracker_(&t) { tracker_->enter(); }
  session_ticket(session_ticket&& o) noexcept : tracker_(o.tracker_) { o.tracker_ = nullptr; }
  session_ticket& operator=(session_ticket&&) = delete;
  ~session_ticket() {
    if (tracker_ != nullptr) tracker_->leave();
  }

 private:
  session_tracker* tracker_;
};

}  // namespace sluice::worker
