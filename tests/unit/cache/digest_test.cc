#include "cache/digest.h"

#include <doctest/doctest.h>

#include <string>

using namespace larder::cache;

// Reference outputs of MurmurHash3_x64_128 (seed 0) as "%016llx%016llx" of
// h1, h2. The fox vector is the widely published one; the others were
// computed with an independent Python implementation of the algorithm that
// reproduces it.
TEST_CASE("digest matches published MurmurHash3 x64_128 vectors") {
  struct Row {
    std::string input;
    const char* hex;
  };
  const Row rows[] = {
      {"", "00000000000000000000000000000000"},
      {"The quick brown fox jumps over the lazy dog", "e34bbc7bbc071b6c7a433ca9c49a9347"},
      {"hello", "cbd8a7b341bd9b025b1e906a48ae1d19"},
      {"a", "85555565f6597889e6b53a48510e895a"},
      {"abc", "b4963f3f3fad78673ba2744126ca2d52"},
      {"123456789", "3c84645edb66cca499f8fac73a1ea105"},
      {std::string(1, '\0'), "4610abe56eff5cb551622daa78f83583"},
      {std::string(40, '\xff'), "57ce227c3eee53e89e3007b76c683496"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.input);
    CHECK(digestHex(row.input) == row.hex);
  }
}

TEST_CASE("digest handles every tail length (0..15 bytes past a block)") {
  const std::string text = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
  struct Row {
    size_t length;
    const char* hex;
  };
  const Row rows[] = {
      {0, "00000000000000000000000000000000"},
      {1, "2ac9debed546a3803a8de9e53c875e09"},
      {2, "649e4eaa7fc1708ee6945110230f2ad6"},
      {3, "ce68f60d7c353bdb00364cd5936bf18a"},
      {4, "0f95757ce7f38254b4c67c9e6f12ab4b"},
      {5, "0f04e459497f3fc1eccc6223a28dd613"},
      {6, "88c0a92586be0a2781062d6137728244"},
      {7, "13eb9fb82606f7a6b4ebef492fdef34e"},
      {8, "8236039b7387354dc3369387d8964920"},
      {9, "4c1e87519fe738ba72a17af899d597f1"},
      {10, "3f9652ac3effeb248027a17cf2990b07"},
      {11, "4bc3eacd29d386297cb2d9e797da9c92"},
      {12, "66352b8cee9e3ca7a9edf0b381a8fc58"},
      {13, "5eb2f8db4265931e801ce853e61d0ab7"},
      {14, "07a4a014dd59f71aaaf437854cd22231"},
      {15, "a62dd5f6c0bf23514fccf50c7c544cf0"},
      {16, "4be06d94cf4ad1a787c35b5c63a708da"},
      {17, "8e32612daa45f9de0800f4c206c372ee"},
      {18, "c511d2a50b58fae82ad4543583f3b99f"},
      {19, "ad3d7fc0b3244b47dd72c8187029f5ce"},
      {20, "e4c83e24f076a3fdf99c8c583a8fa8d7"},
      {21, "00ad50be807c22daeacfab2a02802a63"},
      {22, "4764a8aa9d5558b58a526f6720f760bb"},
      {23, "25239974a83067c20b2a29517c6a8f3a"},
      {24, "354bbd1b765bad7a2cdc72f10e2a15d7"},
      {25, "04c8092e7d043d06b3883500babe4bb9"},
      {26, "aa9b44a02223a5711843b86c02ba3235"},
      {27, "3f072b98d041b50b06bc09f4c56ee162"},
      {28, "7ec02f7f7b6053946659e331b65838f1"},
      {29, "2e5303ba146b2249de32a32ff658ef73"},
      {30, "406ef30c0eb47ac8325f41c06f57e4bc"},
      {31, "b828780c1a6e05423922739113a7e9b2"},
      {32, "2f285ccec0edf1f7c405d66374dea50b"},
      {33, "e82017bf95741128ddc56eb32bc3a99a"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.length);
    CHECK(digestHex(std::string_view(text).substr(0, row.length)) == row.hex);
  }
}

TEST_CASE("digest honours the seed") {
  const Digest128 seeded = murmur3x64_128("hello", 42);
  CHECK(seeded.h1 == 0xc4b8b3c960af6f08ull);
  CHECK(seeded.h2 == 0x2334b875b0efbc7aull);
  CHECK(murmur3x64_128("hello", 0) != seeded);
}

TEST_CASE("digest text is 32 lower-case hex digits and input-sensitive") {
  const std::string a = digestHex("GET example.com /a");
  const std::string b = digestHex("GET example.com /b");
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
  CHECK(a == digestHex("GET example.com /a"));
}
