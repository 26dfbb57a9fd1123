#!/bin/sh
# fetch-plugin.sh DIR: puts the Mineral Contest plugin's release jar in DIR
# (MineralContest.jar, from the releases of Synchroneyes/MineralContest), once
# its SHA-256 is the one expected, and its release tag in
# DIR/.mineralcontest-version. The game image's build runs it; nothing is
# left in DIR when anything fails.
#
#   MINERALCONTEST_VERSION  a release tag (2.8.5.3), or "latest" for the newest release
#   MINERALCONTEST_SHA256   the jar's SHA-256. With a tag, the jar is fetched from
#                           its release URL and must have this checksum. Empty, or
#                           with "latest", the checksum GitHub publishes for the
#                           release's jar is used (and must equal this one when set).
#   MINERALCONTEST_REPO     owner/name of the plugin's repository
#   GITHUB_URL, GITHUB_API  where GitHub and its API are (the tests serve their own)
#   GITHUB_TOKEN_FILE       a file holding a GitHub token, sent to the API only (its
#                           rate limit is 60 calls an hour without); never printed
set -eu

fail() {
	echo "fetch-plugin: $*" >&2
	exit 1
}

dir=${1:-}
[ -n "$dir" ] || fail "usage: fetch-plugin.sh DIR"
version=${MINERALCONTEST_VERSION:-}
want=$(printf '%s' "${MINERALCONTEST_SHA256:-}" | tr 'ABCDEF' 'abcdef')
repo=${MINERALCONTEST_REPO:-Synchroneyes/MineralContest}
github=${GITHUB_URL:-https://github.com}
api=${GITHUB_API:-https://api.github.com}
token_file=${GITHUB_TOKEN_FILE:-/run/secrets/github_token}
asset=MineralContest.jar

# is_tag WORD: WORD can stand in a URL and a file name as a release tag.
is_tag() {
	case $1 in
	'' | .* | *[!0-9A-Za-z._-]*) return 1 ;;
	esac
}

[ -n "$version" ] || fail "MINERALCONTEST_VERSION is empty: give a release tag such as 2.8.5.3, or latest"
[ "$version" = latest ] || is_tag "$version" ||
	fail "MINERALCONTEST_VERSION=$version is neither a release tag (letters, digits, dots, dashes) nor latest"
case $want in
'') ;;
*[!0-9a-f]*) fail "MINERALCONTEST_SHA256 is not 64 hexadecimal digits" ;;
*) [ ${#want} -eq 64 ] || fail "MINERALCONTEST_SHA256 is not 64 hexadecimal digits" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The token goes to curl in a header file, never on a command line.
: >"$tmp/headers"
if [ -s "$token_file" ]; then
	printf 'Authorization: Bearer %s\n' "$(tr -d '\r\n' <"$token_file")" >"$tmp/headers"
fi

if [ "$version" != latest ] && [ -n "$want" ]; then
	tag=$version
	url=$github/$repo/releases/download/$tag/$asset
else
	if [ "$version" = latest ]; then
		path=releases/latest
	else
		path=releases/tags/$version
	fi
	curl -fsSL --proto '=https' --retry 3 \
		-H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' \
		-H @"$tmp/headers" -o "$tmp/release.json" "$api/repos/$repo/$path" ||
		fail "cannot read release $version of $repo from $api"
	tag=$(jq -r '.tag_name // empty' "$tmp/release.json")
	is_tag "$tag" || fail "release $version of $repo has no usable tag name ($tag)"
	url=$(jq -r --arg n "$asset" '[.assets[]? | select(.name == $n)][0].browser_download_url // empty' "$tmp/release.json")
	[ -n "$url" ] || fail "release $tag of $repo has no $asset"
	published=$(jq -r --arg n "$asset" '[.assets[]? | select(.name == $n)][0].digest // empty' "$tmp/release.json")
	case $published in
	sha256:*) published=${published#sha256:} ;;
	*) published= ;;
	esac
	if [ -n "$want" ] && [ -n "$published" ] && [ "$want" != "$published" ]; then
		fail "MINERALCONTEST_SHA256 is $want but GitHub publishes $published for $asset of $tag"
	fi
	[ -n "$want" ] || want=$published
	[ -n "$want" ] || fail "GitHub publishes no checksum for $asset of $tag: set MINERALCONTEST_SHA256"
fi

curl -fsSL --proto '=https' --proto-redir '=https' --retry 3 -o "$tmp/$asset" "$url" ||
	fail "cannot download $url"
got=$(sha256sum "$tmp/$asset" | cut -d ' ' -f 1)
[ "$got" = "$want" ] || fail "$asset of $tag has SHA-256 $got, want $want: refusing it"

mkdir -p "$dir"
chmod 0644 "$tmp/$asset"
mv "$tmp/$asset" "$dir/$asset"
printf '%s\n' "$tag" >"$dir/.mineralcontest-version"
echo "fetch-plugin: $asset $tag, sha256:$got"
