// Placeholder until the PostgreSQL store lands.
#include "gtest/gtest.h"

TEST(PostgresStoreTest, NotBuiltYet) { GTEST_SKIP() << "the PostgreSQL store is not built yet"; }
