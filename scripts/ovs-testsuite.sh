#!/bin/sh
# Runs Open vSwitch's own autotest suites (tests/*.at from an OVS source checkout) against
# TypeSwitch's tools: the testsuite finds ovsdb-server, ovsdb-tool, ovsdb-client, ovs-vsctl,
# ovs-vswitchd, ovs-appctl and ovs-ofctl on AUTOTEST_PATH, which points at our bin/.
# Tools we do not build (ovstest, test-ovsdb, ovs-pki, ...) are not on that path, so the
# cases needing them fail with "command not found": read failures with that in mind.
# A developer's tool, not part of `npm test`: CI has no OVS source tree.
#
# Usage: scripts/ovs-testsuite.sh [-s OVS_SRC] [-w WORKDIR] AT_FILE... [-- TESTSUITE_FLAGS]
#   e.g. scripts/ovs-testsuite.sh ovs-vsctl.at ovsdb-server.at -- -j2 -k 'add-br'
#   AT_FILE names are relative to OVS_SRC/tests.  Defaults: OVS_SRC=/work/ovs-src,
#   WORKDIR=/tmp/ovs-testsuite.  Results: WORKDIR/tests/testsuite.log and
#   WORKDIR/tests/testsuite.dir/NNN/ for failed cases.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
ovs_src=${OVS_SRC:-/work/ovs-src}
work=${OVS_TESTSUITE_DIR:-/tmp/ovs-testsuite}
while getopts s:w: opt; do
  case $opt in
    s) ovs_src=$OPTARG ;;
    w) work=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
at_files=
while [ $# -gt 0 ] && [ "$1" != -- ]; do at_files="$at_files $1"; shift; done
[ $# -gt 0 ] && shift
[ -n "$at_files" ] || { echo "usage: $0 [-s OVS_SRC] [-w WORKDIR] AT_FILE... [-- FLAGS]" >&2; exit 2; }
[ -f "$ovs_src/tests/ovs-macros.at" ] || { echo "$0: $ovs_src is not an OVS source tree" >&2; exit 2; }

mkdir -p "$work/tests" "$work/bin"
version=$(sed -n 's/^AC_INIT(openvswitch, *\([^,]*\),.*/\1/p' "$ovs_src/configure.ac")
cat > "$work/package.m4" <<M4
m4_define([AT_PACKAGE_NAME], [openvswitch])
m4_define([AT_PACKAGE_TARNAME], [openvswitch])
m4_define([AT_PACKAGE_VERSION], [$version])
m4_define([AT_PACKAGE_STRING], [openvswitch $version])
m4_define([AT_PACKAGE_BUGREPORT], [bugs@openvswitch.org])
M4
# Shell helpers that some files use but another file defines (ovsdb-execution.at's schemas,
# used across the ovsdb-*.at files; dpif-netdev.at's megaflow helpers, used by
# ofproto-dpif.at): only their PREPARE_TESTS blocks, not their tests.
sed -n '/^m4_divert_push(\[PREPARE_TESTS\])/,/^m4_divert_pop(\[PREPARE_TESTS\])/p' \
  "$ovs_src/tests/ovsdb-execution.at" "$ovs_src/tests/dpif-netdev.at" > "$work/prepare-helpers.at"
# ovsdb-server.at's shutdown macros, used by ovsdb-idl.at too (its first dozen lines).
sed -n '/^m4_define(\[OVSDB_SERVER_SHUTDOWN/,/^$/p' "$ovs_src/tests/ovsdb-server.at" \
  >> "$work/prepare-helpers.at"
# The test PKI OVS's build makes (tests/testpki-*.pem), with Debian's ovs-pki.
if [ ! -f "$work/tests/testpki-cacert.pem" ] && command -v ovs-pki > /dev/null; then
  pki="$work/tests/pki"
  rm -rf "$pki"
  ovs-pki --dir="$pki" --log="$work/tests/ovs-pki.log" init > /dev/null
  for who in test test2; do
    (cd "$work/tests/pki" && ovs-pki --dir="$pki" --log="$work/tests/ovs-pki.log" req+sign "$who" > /dev/null)
  done
  cp "$pki/switchca/cacert.pem" "$work/tests/testpki-cacert.pem"
  for n in "" 2; do
    for f in cert req privkey; do cp "$pki/test$n-$f.pem" "$work/tests/testpki-$f$n.pem"; done
  done
fi
{
  echo 'AT_INIT'
  echo 'AT_COLOR_TESTS'
  echo 'm4_pattern_allow([AT_capture_files])'
  for m in ovs-macros ovsdb-macros ofproto-macros; do echo "m4_include([tests/$m.at])"; done
  echo 'm4_include([prepare-helpers.at])'
  for f in $at_files; do echo "m4_include([tests/$f])"; done
} > "$work/testsuite.at"
autom4te --language=autotest -I "$work" -I "$ovs_src" -o "$work/testsuite" "$work/testsuite.at"
chmod +x "$work/testsuite"

# Our launchers, one per OVS tool name.
rm -f "$work/bin/"*
for tool in ovsdb-server ovsdb-tool ovsdb-client ovs-vsctl ovs-vswitchd ovs-appctl ovs-ofctl; do
  ln -s "$here/bin/$tool" "$work/bin/$tool"
done

cat > "$work/tests/atconfig" <<CFG
at_testdir='tests'
abs_builddir='$work/tests'
at_srcdir='$ovs_src/tests'
abs_srcdir='$ovs_src/tests'
at_top_srcdir='$ovs_src'
abs_top_srcdir='$ovs_src'
at_top_build_prefix='../'
abs_top_builddir='$work'
AUTOTEST_PATH='$work/bin:$ovs_src/tests'
SHELL=\${CONFIG_SHELL-'/bin/sh'}
CFG
cat > "$work/tests/atlocal" <<LOCAL
HAVE_OPENSSL='yes'
OPENSSL_SUPPORTS_SNI='yes'
HAVE_UNBOUND='no'
EGREP='grep -E'
PYTHON3='/usr/bin/python3'
CFLAGS=''
PYTHONCOERCECLOCALE=0; export PYTHONCOERCECLOCALE
PYTHONPATH=$work/tests:\${PYTHONPATH-}; export PYTHONPATH
PYTHONIOENCODING=utf_8; export PYTHONIOENCODING
PYTHONDONTWRITEBYTECODE=yes; export PYTHONDONTWRITEBYTECODE
non_ascii_cwd=false
LOOPBACK_INTERFACE=lo
IS_WIN32='no'
IS_BSD='no'
IS_ARM64='no'
HAVE_IPV6='yes'
HAVE_FTP='no'
HAVE_TFTP='no'
HAVE_NC='no'
HAVE_TC='no'
SUPPORT_TC_INGRESS_PPS='no'
HAVE_TCPDUMP='no'
HAVE_LFTP='no'
DIFF_SUPPORTS_NORMAL_FORMAT='yes'
TESTS_WITH_UBSAN='no'
HAVE_PYTEST='no'
OVS_SYSLOG_METHOD=null; export OVS_SYSLOG_METHOD
OVS_CTL_TIMEOUT=30; export OVS_CTL_TIMEOUT
unset http_proxy https_proxy ftp_proxy no_proxy HTTP_PROXY HTTPS_PROXY FTP_PROXY NO_PROXY
LOCAL
cd "$work"
exec "$work/testsuite" -C tests AUTOTEST_PATH="$work/bin:$ovs_src/tests" "$@"
