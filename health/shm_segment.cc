#include "health/shm_segment.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace sluice::health {

shm_segment::shm_segment(shm_segment&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      memory_(std::exchange(o.memory_, nullptr)),
      size_(std::exchange(o.size_, 0)) {}

shm_segment& shm_segment::operator=(shm_segment&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    memory_ = std::exchange(o.memory_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

shm_segment::~shm_segment() {
  reset();
}

void shm_segment::reset() {
  if (memory_ != nullptr) ::munmap(memory_, size_);
  if (fd_ >= 0) ::close(fd_);
  memory_ = nullptr;
  fd_ = -1;
  size_ = 0;
}

shm_segment shm_segment::create(const char* name, size_t size) {
  shm_segment s;
  s.fd_ = ::memfd_create(name, MFD_CLOEXEC);
  if (s.fd_ < 0) return s;
  if (::ftruncate(s.fd_, static_cast<off_t>(size)) != 0) {
    s.reset();
    return s;
  }
  void* m = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd_, 0);
  if (m == MAP_FAILED) {
    s.reset();
    return s;
  }
  s.memory_ = m;
  s.size_ = size;
  return s;
}

shm_segment shm_segment::attach(int fd) {
  shm_segment s;
  s.fd_ = fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
    s.reset();
    return s;
  }
  auto size = static_cast<size_t>(st.st_size);
  void* m = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    s.reset();
    return s;
  }
  s.memory_ = m;
  s.size_ = size;
  return s;
}

}  // namespace sluice::health
