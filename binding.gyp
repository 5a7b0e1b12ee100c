{
  "targets": [
    {
      "target_name": "psfid_torch",
      "sources": ["native/psfid_torch.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs --gyp include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/libtorch.mjs --gyp abi)",
        "<!(node scripts/libtorch.mjs --gyp defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-deprecated-declarations", "-Wno-unused-parameter", "<!@(node scripts/libtorch.mjs --gyp ompcflags)"],
      "ldflags": [
        "-L<!(node scripts/libtorch.mjs --gyp libdir)",
        "-Wl,-rpath,<!(node scripts/libtorch.mjs --gyp libdir)",
        "-Wl,-z,now"
      ],
      "libraries": [
        "-L<!(node scripts/libtorch.mjs --gyp libdir)",
        "-Wl,--no-as-needed",
        "<!@(node scripts/libtorch.mjs --gyp libs)",
        "<!@(node scripts/libtorch.mjs --gyp omplibs)",
        "-Wl,--as-needed"
      ]
    }
  ]
}
