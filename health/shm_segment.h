#pragma once
// A shared-memory segment backed by a memfd: created by the master, passed to children by
// fd (like the config snapshot) and mapped there. A memfd needs no name and leaves nothing
// behind when every process holding it is gone.

#include <cstddef>

namespace sluice::health {

class shm_segment {
 public:
  shm_segment() = default;
  shm_segment(const shm_segment&) = delete;
  shm_segment& operator=(const shm_segment&) = delete;
  shm_segment(shm_segment&& o) noexcept;
  shm_segment& operator=(shm_segment&& o) noexcept;
  ~shm_segment();

  // A new zero-filled segment of `size` bytes (master).
  static shm_segment create(const char* name, size_t size);
  // Maps the segment behind `fd` (child); takes ownership of fd.
  static shm_segment attach(int fd);

  bool ok() const { return memory_ != nullptr; }
  void* memory() const { return memory_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }

 private:
  void reset();
  int fd_ = -1;
  void* memory_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sluice::health
