#include "master/config/suggest.h"

#include <gtest/gtest.h>

namespace sluice::master::config {
namespace {

TEST(Suggest, FindsCloseKeywords) {
  EXPECT_EQ(closest("defualt_backend", {"default_backend", "use_backend", "bind"}),
            "default_backend");
  EXPECT_EQ(closest("tiemout", {"timeout", "mode"}), "timeout");
}

TEST(Suggest, StaysQuietWhenNothingIsClose) {
  EXPECT_EQ(closest("frobnicate", {"timeout", "mode"}), "");
  EXPECT_EQ(did_you_mean("zzz", {"bind"}), "");
  EXPECT_EQ(did_you_mean("bnd", {"bind"}), "; did you mean 'bind'?");
}

}  // namespace
}  // namespace sluice::master::config
