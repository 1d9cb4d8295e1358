// RecyclingAllocator: pairs come back cleared on the thread that released them, with their
// strings' capacity (the point of recycling), except a pair that carried a large message.
#include "service/rpc/recycling_allocator.h"

#include <string>

#include "gtest/gtest.h"
#include "logout/v1/logout.pb.h"
#include "service/policy/engine.h"

namespace logout::rpc {
namespace {

using Allocator = RecyclingAllocator<v1::ValidateLogoutRequest, v1::ValidateLogoutResponse,
                                     &policy::ClearForReuse>;

TEST(RecyclingAllocatorTest, AReleasedPairComesBackClearedWithItsCapacity) {
  Allocator allocator;
  auto* first = allocator.AllocateMessages();
  first->request()->set_tenant(std::string(200, 't'));
  first->response()->set_redirect_url(std::string(300, 'r'));
  first->response()->mutable_session()->set_sid("sid-1");
  first->Release();

  auto* second = allocator.AllocateMessages();
  EXPECT_EQ(second, first);  // taken from this thread's free list
  EXPECT_EQ(second->request()->ByteSizeLong(), 0u);
  EXPECT_TRUE(second->request()->tenant().empty());
  EXPECT_GE(second->request()->tenant().capacity(), 200u);
  EXPECT_TRUE(second->response()->redirect_url().empty());
  EXPECT_GE(second->response()->redirect_url().capacity(), 300u);
  // The session message is kept for the next decision, empty.
  EXPECT_TRUE(second->response()->session().sid().empty());
  second->Release();
}

TEST(RecyclingAllocatorTest, APairThatCarriedALargeMessageIsNotCached) {
  Allocator allocator;
  auto* pair = allocator.AllocateMessages();
  pair->request()->set_tenant(std::string(Allocator::kMaxRecycledBytes + 1, 't'));
  pair->Release();  // freed: the next pair is a fresh one, whatever its address
  auto* next = allocator.AllocateMessages();
  EXPECT_LT(next->request()->tenant().capacity(), Allocator::kMaxRecycledBytes);
  next->Release();
}

}  // namespace
}  // namespace logout::rpc
