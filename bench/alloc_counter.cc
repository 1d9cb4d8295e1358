// Replacement global operator new/delete that count while a ScopedAllocCounter is alive on the
// calling thread. Every overload is replaced so that nothing bypasses the count; all of them
// end in malloc/aligned_alloc/free, so pairing with the default operators is never needed.
#include "bench/alloc_counter.h"

#include <openssl/crypto.h>

#include <cstdlib>
#include <new>

namespace logout::bench {
namespace {

// Trivially constructible thread_locals: no TLS guard, safe to touch inside operator new.
constinit thread_local bool t_counting = false;
constinit thread_local AllocStats t_stats;

void* CountedMalloc(size_t n) {
  if (t_counting) {
    ++t_stats.count;
    t_stats.bytes += n;
  }
  // malloc(0) may return nullptr; operator new must not.
  return std::malloc(n == 0 ? 1 : n);
}

void* CountedAligned(size_t n, std::align_val_t align) {
  if (t_counting) {
    ++t_stats.count;
    t_stats.bytes += n;
  }
  const size_t a = static_cast<size_t>(align);
  const size_t rounded = ((n == 0 ? 1 : n) + a - 1) / a * a;  // aligned_alloc wants a multiple
  return std::aligned_alloc(a, rounded);
}

void* OpenSslMalloc(size_t n, const char* /*file*/, int /*line*/) {
  if (t_counting) {
    ++t_stats.openssl_count;
    t_stats.openssl_bytes += n;
  }
  return std::malloc(n);
}

void* OpenSslRealloc(void* p, size_t n, const char* /*file*/, int /*line*/) {
  if (t_counting) {
    ++t_stats.openssl_count;
    t_stats.openssl_bytes += n;
  }
  return std::realloc(p, n);
}

void OpenSslFree(void* p, const char* /*file*/, int /*line*/) { std::free(p); }

}  // namespace

bool InstallOpenSslCounting() {
  return CRYPTO_set_mem_functions(OpenSslMalloc, OpenSslRealloc, OpenSslFree) == 1;
}

ScopedAllocCounter::ScopedAllocCounter() {
  t_stats = AllocStats{};
  t_counting = true;
}

ScopedAllocCounter::~ScopedAllocCounter() { t_counting = false; }

AllocStats ScopedAllocCounter::Stats() const { return t_stats; }

}  // namespace logout::bench

using logout::bench::CountedAligned;
using logout::bench::CountedMalloc;

void* operator new(size_t n) {
  void* p = CountedMalloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n) {
  void* p = CountedMalloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(size_t n, const std::nothrow_t&) noexcept { return CountedMalloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return CountedMalloc(n); }
void* operator new(size_t n, std::align_val_t a) {
  void* p = CountedAligned(n, a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n, std::align_val_t a) {
  void* p = CountedAligned(n, a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return CountedAligned(n, a);
}
void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return CountedAligned(n, a);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
