{
  "targets": [
    {
      "target_name": "twill_sys",
      "sources": [
        "native/addon.cc",
        "native/bpf.cc",
        "native/netns.cc",
        "native/socket.cc",
        "native/netlink-socket.cc",
        "native/mmap.cc",
        "native/poll.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"]
    },
    {
      "target_name": "twill-forward",
      "type": "executable",
      "sources": ["native/forward/twill-forward.c"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
