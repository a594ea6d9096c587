#!/bin/sh
# Used by docker/Dockerfile's build stage: gather what the runtime stage gets.
#   stage-runtime.sh STAGING BUILD_DIR RUNTIME PACKAGES_FILE
# RUNTIME gets the installed programs (prokit-broker, the `prokit` CLI if one
# was built), libprokit.so* with its symlinks (no headers, archive or CMake
# files) and the three example programs, stripped. PACKAGES_FILE gets the
# Debian packages owning every shared library those link (libzmq5, libczmq4,
# and libjson-c5 or libmsgpackc2 only if something links them), so the
# runtime stage installs exactly those. Fails if a library has no package.
set -eu
staging=$1 build=$2 runtime=$3 packages=$4

mkdir -p "$runtime/usr/local/bin" "$runtime/usr/local/lib"
cp -a "$staging/usr/local/bin/." "$runtime/usr/local/bin/"
cp -a "$staging"/usr/local/lib/libprokit.so* "$runtime/usr/local/lib/"
for program in prokit-example-main prokit-example-window prokit-example-work; do
    install -m 0755 -s "$build/examples/$program" "$runtime/usr/local/bin/"
done

libraries=$(mktemp)
for elf in "$runtime"/usr/local/bin/* "$runtime"/usr/local/lib/libprokit.so.*.*; do
    LD_LIBRARY_PATH="$runtime/usr/local/lib" ldd "$elf" |
        awk '$2 == "=>" && $3 ~ /^\// {print $3}'
done | sort -u >"$libraries"

: >"$packages.unsorted"
while read -r library; do
    case "$library" in "$runtime"/*) continue ;; esac
    # merged /usr: dpkg may know the file as /lib/... or /usr/lib/..., or
    # only the versioned file the soname link points to.
    owner=""
    for candidate in "$library" "/usr${library#/usr}" "${library#/usr}" "$(realpath "$library")"; do
        if owner=$(dpkg-query -S "$candidate" 2>/dev/null); then
            break
        fi
        owner=""
    done
    if [ -z "$owner" ]; then
        echo "stage-runtime: no Debian package owns $library" >&2
        exit 1
    fi
    echo "${owner%%:*}" >>"$packages.unsorted"
done <"$libraries"
sort -u "$packages.unsorted" >"$packages"
rm -f "$packages.unsorted" "$libraries"

echo "runtime files:"
ls -l "$runtime/usr/local/bin" "$runtime/usr/local/lib"
echo "runtime packages: $(tr '\n' ' ' <"$packages")"
