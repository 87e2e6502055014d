{
  "targets": [
    {
      "target_name": "typeswitch_native",
      "sources": ["src/native/typeswitch-native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
