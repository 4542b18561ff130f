#include "fs/inode_table.h"

#include <gtest/gtest.h>

namespace shadowfs::fs {
namespace {

TEST(InodeTableTest, RootExistsAndPathsFollowParents) {
  InodeTable t;
  ASSERT_NE(t.Get(kRootInode), nullptr);
  EXPECT_EQ(t.Path(kRootInode), "");
  Inode& a = t.Attach(kRootInode, "a", FileKind::kDirectory);
  a.lookups = 1;
  Inode& b = t.Attach(a.id, "b", FileKind::kRegular);
  b.lookups = 1;
  EXPECT_EQ(t.Path(b.id), "a/b");
  EXPECT_EQ(t.Child(a.id, "b"), &b);
  EXPECT_EQ(&t.Attach(a.id, "b", FileKind::kRegular), &b);  // same kind: same inode
}

TEST(InodeTableTest, RenameReparentsDescendants) {
  InodeTable t;
  InodeId a = t.Attach(kRootInode, "a", FileKind::kDirectory).id;
  t.Get(a)->lookups = 1;
  InodeId c = t.Attach(a, "c", FileKind::kRegular).id;
  t.Get(c)->lookups = 1;
  InodeId z = t.Attach(kRootInode, "z", FileKind::kDirectory).id;
  t.Get(z)->lookups = 1;
  t.Move(a, z, "moved");
  EXPECT_EQ(t.Path(c), "z/moved/c");
  EXPECT_EQ(t.Child(kRootInode, "a"), nullptr);
  EXPECT_TRUE(t.IsAncestor(z, c));
  EXPECT_FALSE(t.IsAncestor(c, z));
}

TEST(InodeTableTest, ForgetFreesAndReusedSlotsGetNewGenerations) {
  InodeTable t;
  Inode& a = t.Attach(kRootInode, "a", FileKind::kRegular);
  InodeId id = a.id;
  uint64_t gen = a.generation;
  a.lookups = 2;
  t.Forget(id, 1);
  ASSERT_NE(t.Get(id), nullptr);
  t.Forget(id, 1);
  EXPECT_EQ(t.Get(id), nullptr);
  EXPECT_EQ(t.Child(kRootInode, "a"), nullptr);
  Inode& b = t.Attach(kRootInode, "b", FileKind::kRegular);
  EXPECT_EQ(b.id, id);
  EXPECT_GT(b.generation, gen);
  EXPECT_EQ(t.size(), 2u);
}

TEST(InodeTableTest, OpenAndChildrenKeepInodesAlive) {
  InodeTable t;
  InodeId d = t.Attach(kRootInode, "d", FileKind::kDirectory).id;
  InodeId f = t.Attach(d, "f", FileKind::kRegular).id;
  t.Get(f)->opens = 1;
  t.Forget(d, 0);
  t.MaybeFree(d);
  ASSERT_NE(t.Get(d), nullptr);  // its child is still there
  t.Detach(f);                   // unlinked while open
  EXPECT_EQ(t.Path(f), std::nullopt);
  ASSERT_NE(t.Get(f), nullptr);
  EXPECT_EQ(t.Get(d), nullptr);  // nothing holds the directory any more
  t.Get(f)->opens = 0;
  t.MaybeFree(f);
  EXPECT_EQ(t.Get(f), nullptr);
  EXPECT_EQ(t.size(), 1u);
}

TEST(InodeTableTest, AttachOfAnotherKindReplaces) {
  InodeTable t;
  Inode& f = t.Attach(kRootInode, "x", FileKind::kRegular);
  f.lookups = 1;
  InodeId old = f.id;
  Inode& d = t.Attach(kRootInode, "x", FileKind::kDirectory);
  EXPECT_NE(d.id, old);
  EXPECT_EQ(t.Get(old)->parent, 0u);  // detached, alive until forgotten
  EXPECT_EQ(t.Child(kRootInode, "x")->id, d.id);
}

TEST(InodeTableTest, RootIsNeverForgotten) {
  InodeTable t;
  t.Forget(kRootInode, 100);
  EXPECT_NE(t.Get(kRootInode), nullptr);
}

}  // namespace
}  // namespace shadowfs::fs
