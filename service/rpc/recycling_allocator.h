// A grpc::MessageAllocator that recycles a method's request and response messages instead of
// allocating a fresh pair per call. protobuf messages without an arena keep the capacity of
// their strings through Clear(), so a handler that fills a recycled response allocates nothing
// once earlier calls have grown its strings.
//
//   RecyclingAllocator<v1::ValidateLogoutRequest, v1::ValidateLogoutResponse,
//                      &policy::ClearForReuse> allocator;
//   service.SetMessageAllocatorFor_ValidateLogout(&allocator);
//
// Released pairs go to a free list of the releasing thread (at most kMaxCachedPerThread; more
// are deleted, and so is a pair whose request or response was over kMaxRecycledBytes, so an
// idle server does not keep the capacity of its largest requests), and calls take from the
// free list of the thread that starts them, so there is no lock. A pair is cleared when it is
// released (the request with Clear(), the response with `Reset`), so no call's data stays in a
// cached pair. Thread-safe; the allocator itself holds no state, and pairs never refer to it, so it
// may be destroyed while threads still cache pairs (each thread deletes its own at exit).
#ifndef SERVICE_RPC_RECYCLING_ALLOCATOR_H_
#define SERVICE_RPC_RECYCLING_ALLOCATOR_H_

#include <cstddef>
#include <vector>

#include "grpcpp/support/message_allocator.h"

namespace logout::rpc {

template <typename Message>
void ClearMessage(Message* message) {
  message->Clear();
}

template <typename Request, typename Response, void (*Reset)(Response*) = &ClearMessage<Response>>
class RecyclingAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  static constexpr size_t kMaxCachedPerThread = 256;
  // A pair whose request or response was larger than this is not cached.
  static constexpr size_t kMaxRecycledBytes = 4096;

  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    std::vector<Holder*>& free = FreeList().holders;
    if (free.empty()) return new Holder();
    Holder* holder = free.back();
    free.pop_back();
    return holder;
  }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() {
      this->set_request(&request_);
      this->set_response(&response_);
    }
    void Release() override {
      // A pair that carried a large message keeps that capacity: it is freed, not cached.
      const bool large = request_.ByteSizeLong() > kMaxRecycledBytes ||
                         response_.ByteSizeLong() > kMaxRecycledBytes;
      request_.Clear();
      Reset(&response_);
      std::vector<Holder*>& free = FreeList().holders;
      if (!large && free.size() < kMaxCachedPerThread) {
        free.push_back(this);
      } else {
        delete this;
      }
    }

   private:
    Request request_;
    Response response_;
  };

  struct ThreadFreeList {
    ThreadFreeList() { holders.reserve(kMaxCachedPerThread); }
    ~ThreadFreeList() {
      for (Holder* h : holders) delete h;
    }
    std::vector<Holder*> holders;
  };

  static ThreadFreeList& FreeList() {
    thread_local ThreadFreeList list;
    return list;
  }
};

}  // namespace logout::rpc

#endif  // SERVICE_RPC_RECYCLING_ALLOCATOR_H_
