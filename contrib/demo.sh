#!/usr/bin/env bash
# phpguard demo: apply the bundled example to a throwaway sandbox root and
# prove its promises with a private Apache and mod_php.
#
#   sudo contrib/demo.sh
#
# Run it as root on Debian 12, in the repository, with Go 1.26 on PATH (or
# with PHPGUARD=/path/to/phpguard). It installs what it needs from Debian
# (apache2, libapache2-mod-php, busybox-static, acl) without starting
# Apache, builds a sandbox root under /tmp with small busybox layers, runs
# `phpguard apply` and `phpguard verify` with --root in a private mount
# namespace, prints the per-vhost results and removes the sandbox. The
# overlay mounts live only in that namespace: they vanish with it. The
# machine's own /etc, /home and Apache are not touched.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "demo: run as root: sudo $0" >&2
	exit 1
fi
export PATH="/usr/local/go/bin:$PATH"

# Debian's packages. Debian starts the services it installs; the demo
# keeps Apache from starting (policy-rc.d, invoke-rc.d(8)) and starts its
# own, on 127.0.0.1 only.
missing=()
for pkg in apache2 libapache2-mod-php busybox-static acl; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "== install ${missing[*]} from Debian"
	made_policy_rc=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy_rc=1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	if [ -n "$made_policy_rc" ]; then
		rm -f /usr/sbin/policy-rc.d
	fi
fi

# The sandbox: a directory the HTTP user can traverse (mktemp makes 0700).
sandbox=$(mktemp -d /tmp/phpguard-demo.XXXXXX)
chmod 755 "$sandbox"
cleanup() {
	# The mounts were made in the private namespace of unshare below and
	# are gone with it; never remove through a mount that is still there.
	if findmnt -rn -o TARGET | grep -q "^$sandbox"; then
		echo "demo: $sandbox still has mounts; not removed" >&2
		return
	fi
	rm -rf "$sandbox"
}
trap cleanup EXIT
root="$sandbox/root"

# phpguard itself.
phpguard=${PHPGUARD:-}
if [ -z "$phpguard" ]; then
	if ! command -v go >/dev/null; then
		echo "demo: needs Go 1.26 on PATH (https://go.dev/dl/), or PHPGUARD=/path/to/phpguard" >&2
		exit 1
	fi
	echo "== build phpguard"
	go build -o "$sandbox/phpguard" ./cmd/phpguard
	phpguard="$sandbox/phpguard"
fi

# Small real layers made of busybox-static. The base layer is a tiny
# system; rm, mv and cp are copies of busybox (it runs the applet named
# by argv[0]): the ACL goes on each file, and a link would deny busybox
# itself. phpguard checks that layers exist, it does not build them.
echo "== build the sandbox root $root"
layers="$root/srv/phpguard/layers"
busybox=$(command -v busybox || echo /bin/busybox)
mkdir -p "$layers"/{base,terminal,ruby,java}
mkdir -p "$layers/base"/{bin,usr/bin,etc}
cp "$busybox" "$layers/base/bin/busybox"
for applet in sh ls cat echo id; do
	ln -s busybox "$layers/base/bin/$applet"
done
for bin in rm mv cp; do
	cp "$busybox" "$layers/base/usr/bin/$bin"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$layers/base/etc/passwd"
mkdir -p "$layers/terminal/usr/bin"
for applet in vi less grep; do
	ln -s /bin/busybox "$layers/terminal/usr/bin/$applet"
done
for layer in ruby java; do
	echo "the $layer layer of the demo: a placeholder" >"$layers/$layer/README"
done

# The "host" under the root: its own rm, mv, cp and passwd, and the host's
# PHP configuration for mod_php (php.ini and conf.d, links resolved).
mkdir -p "$root/usr/bin" "$root/etc"
for bin in rm mv cp; do
	cp "$busybox" "$root/usr/bin/$bin"
done
printf 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n' >"$root/etc/passwd"
for ini in /etc/php/*/apache2; do
	mkdir -p "$root$ini"
	cp -rL "$ini/." "$root$ini/"
done

# apply, then verify, in a private mount namespace.
set +e
unshare -m --propagation private -- sh -c '
	echo "== phpguard apply examples/hosting.yaml --root $2 (in a private mount namespace)"
	"$1" apply examples/hosting.yaml --root "$2" >/dev/null || exit 1
	findmnt -rn -t overlay -o TARGET | sed "s|^|   mounted |"
	echo "== phpguard verify examples/hosting.yaml --root $2"
	echo
	"$1" verify examples/hosting.yaml --root "$2"
' demo "$phpguard" "$root"
status=$?
set -e
echo
if [ "$status" = 0 ]; then
	echo "== every promise holds (exit 0); the sandbox is removed"
else
	echo "== exit $status: see above; the sandbox is removed"
fi
exit "$status"
