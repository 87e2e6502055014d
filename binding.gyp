{
  "targets": [
    {
      "target_name": "typeswitch_native",
      "sources": [
        "src/native/typeswitch-native.c",
        "src/native/native-util.c",
        "src/native/af-packet.c",
        "src/native/netdev-ioctl.c",
        "src/native/fd-poll.c",
        "src/native/rtnetlink.c",
        "src/native/af-xdp.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
