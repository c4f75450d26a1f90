#include "tests/fs/host_cache_fixture.h"

namespace glint::fs {
namespace {

using namespace testing_host;  // NOLINT: the fixture's names

TEST(HostCache, VerifiedReadsCostOneStoreReadPerChunkThenNone) {
  Fixture f;
  auto host = f.Make();
  auto r = host->Open(Entry());
  ASSERT_TRUE(r.ok());
  ASSERT_NE(dynamic_cast<CachedReader*>(r->get()), nullptr);
  EXPECT_EQ(ReadAll(**r, 128 << 10), f.data);  // 81 requests of 128 KiB
  EXPECT_EQ(f.store.reads.load(), 3);          // one per chunk
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.chunks"), "3/3");
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.verified"), "1");
  auto again = host->Open(Entry());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReadAll(**again), f.data);
  EXPECT_EQ(f.store.reads.load(), 3);
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.fetches"), "3");
  // Every store reader the cache opened was one without the source's own read-ahead.
  EXPECT_GE(f.store.chunk_opens.load(), 1);
  EXPECT_EQ(f.store.chunk_opens.load(), f.store.opens.load());
}

TEST(HostCache, TamperedChunkIsRefetchedOnceThenRefusedNeverServed) {
  Fixture f;
  auto host = f.Make();
  f.store.tamper_at = (4 << 20) + 77;  // in chunk 1
  auto r = std::move(host->Open(Entry())).value();
  std::vector<char> buf(1 << 20);
  auto bad = r->ReadAt(4 << 20, buf.data(), buf.size());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(f.store.reads.load(), 2);  // fetched, then once more
  auto good = r->ReadAt(0, buf.data(), buf.size());  // other chunks are fine
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.data.data(), buf.size()));
  f.store.tamper_at = -1;  // the store heals: the chunk is fetched and kept
  ASSERT_TRUE(r->ReadAt(4 << 20, buf.data(), buf.size()).ok());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.data.data() + (4 << 20), buf.size()));
}

TEST(HostCache, WithoutAManifestReadsUncachedUnlessUnverifiedIsAllowed) {
  Fixture f;
  f.manifest = std::nullopt;  // the API answers 404
  {
    auto host = f.Make();
    auto r = std::move(host->Open(Entry())).value();
    EXPECT_EQ(dynamic_cast<CachedReader*>(r.get()), nullptr);
    EXPECT_EQ(ReadAll(*r), f.data);
    EXPECT_EQ(host->cache().Stats().chunks, 0u);
  }
  auto host = f.Make(/*allow_unverified=*/true);
  auto r = std::move(host->Open(Entry())).value();
  ASSERT_NE(dynamic_cast<CachedReader*>(r.get()), nullptr);
  EXPECT_EQ(ReadAll(*r), f.data);
  EXPECT_EQ(host->cache().Stats().chunks, 3u);
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.verified"), "0");
}

TEST(HostCache, AManifestThatDoesNotFitTheImageIsNeverUsed) {
  Fixture f;
  ImageEntry other = Entry();
  other.fields["os_hash_value"] = std::string(128, 'f');  // the manifest is bound to other data
  auto host = f.Make(/*allow_unverified=*/true);
  auto r = std::move(host->Open(other)).value();
  EXPECT_EQ(dynamic_cast<CachedReader*>(r.get()), nullptr);
  EXPECT_EQ(ReadAll(*r), f.data);
}

TEST(HostCache, CachedImageReadsWithTheApiAndTheStoreDownAfterARestart) {
  Fixture f;
  {
    auto host = f.Make();
    auto r = std::move(host->Open(Entry())).value();
    EXPECT_EQ(ReadAll(*r), f.data);
  }
  f.api_down = true;
  f.store.down = true;
  auto host = f.Make();
  auto r = host->Open(Entry());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadAll(**r), f.data);
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.verified"), "1");  // the kept manifest
}


TEST(ImagePins, PinFetchesTheWholeImageAndHoldsAcrossARestart) {
  Fixture f;
  ImageEntry image = Entry();
  image.name = "pinned";
  image.fields["name"] = "pinned";
  {
    auto host = f.Make();
    ImagePins pins(*host);
    pins.Start();
    EXPECT_EQ(pins.Pin(image), 0);
    EXPECT_TRUE(WaitFor([&] { return pins.Pending() == 0; }));
    EXPECT_EQ(host->cache().CachedChunks(kId), 3u);
    EXPECT_TRUE(host->cache().Pinned(kId));
    EXPECT_EQ(f.store.reads.load(), 3);
  }
  f.api_down = true;
  f.store.down = true;
  auto host = f.Make();
  ImagePins pins(*host);
  EXPECT_TRUE(pins.Pinned(kId));
  EXPECT_TRUE(host->cache().Pinned(kId));
  auto kept = pins.PinnedImages();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].name, std::optional<std::string>("pinned"));
  EXPECT_EQ(kept[0].size, kSize);
  EXPECT_EQ(kept[0].fields, image.fields);
  auto r = host->Open(kept[0]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadAll(**r), f.data);
  pins.Unpin(kId);
  EXPECT_FALSE(host->cache().Pinned(kId));
  EXPECT_TRUE(ImagePins(*host).PinnedImages().empty());
}

TEST(ImagePins, RefusesWhatCannotBeKept) {
  Fixture f;
  auto small = f.Make(false, 2 * kChunkSize);  // the image needs three chunks
  ImagePins pins(*small);
  EXPECT_EQ(pins.Pin(Entry()), ENOSPC);
  small.reset();
  f.manifest = std::nullopt;
  auto host = f.Make();
  ImagePins strict(*host);
  EXPECT_EQ(strict.Pin(Entry()), ENOTSUP);
  EXPECT_FALSE(strict.Pinned(kId));
  EXPECT_EQ(ImageEntryFromJson("{\"id\": \"../../etc\", \"status\": \"active\", \"size\": 1, "
                               "\"updated_at\": 0, \"fields\": {}}"),
            std::nullopt);
}


TEST(ImageManifest, RefusesManifestsThatDoNotFit) {
  auto data = ImageData();
  std::string good = ManifestOf(data);
  ASSERT_TRUE(ParseManifest(good, Entry(), kChunkSize).ok());
  ImageEntry wrong_id = Entry();
  wrong_id.id = "7a11c0de-0000-4000-8000-00000000000b";
  EXPECT_FALSE(ParseManifest(good, wrong_id, kChunkSize).ok());
  ImageEntry wrong_size = Entry();
  wrong_size.size = kSize + 1;
  EXPECT_FALSE(ParseManifest(good, wrong_size, kChunkSize).ok());
  EXPECT_FALSE(ParseManifest(good, Entry(), 1 << 20).ok());
  auto j = nlohmann::json::parse(good);
  j["chunks"].erase(0);
  EXPECT_FALSE(ParseManifest(j.dump(), Entry(), kChunkSize).ok());
  j = nlohmann::json::parse(good);
  j["chunks"][1] = std::string(64, 'G');
  EXPECT_FALSE(ParseManifest(j.dump(), Entry(), kChunkSize).ok());
  j = nlohmann::json::parse(good);
  j["algorithm"] = "md5";
  EXPECT_FALSE(ParseManifest(j.dump(), Entry(), kChunkSize).ok());
  EXPECT_FALSE(ParseManifest("[1,2]", Entry(), kChunkSize).ok());
  EXPECT_FALSE(ParseManifest("{\"image_id\":", Entry(), kChunkSize).ok());
}

// The binding covers every chunk digest and the header: a manifest whose digest of one
// chunk was replaced (well-formed, the right count) or whose binding was dropped or
// altered is refused, so a tampered manifest never vouches for tampered data.
TEST(ImageManifest, RefusesAManifestWhoseBindingDoesNotMatch) {
  auto data = ImageData();
  auto j = nlohmann::json::parse(ManifestOf(data));
  ASSERT_TRUE(ParseManifest(j.dump(), Entry(), kChunkSize).ok());
  auto swapped = j;
  swapped["chunks"][1] = Sha256Hex("other", 5);
  auto r = ParseManifest(swapped.dump(), Entry(), kChunkSize);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("binding"), std::string::npos) << r.status().ToString();
  auto unbound = j;
  unbound["binding"] = "";
  EXPECT_FALSE(ParseManifest(unbound.dump(), Entry(), kChunkSize).ok());
  unbound.erase("binding");
  EXPECT_FALSE(ParseManifest(unbound.dump(), Entry(), kChunkSize).ok());
  auto other = j;
  other["binding"] = Sha256Hex("x", 1);
  EXPECT_FALSE(ParseManifest(other.dump(), Entry(), kChunkSize).ok());
  // A kept manifest with a broken binding is not used either: the image reads uncached.
  Fixture f;
  f.manifest = swapped.dump();
  auto host = f.Make();
  EXPECT_FALSE(host->Cacheable(Entry()));
}


}  // namespace
}  // namespace glint::fs
