#!/bin/sh
# game-image-alert.sh: tells the community's alerts how a build of the game
# image went, in the JSON the bot's own alerts use:
#
#   {"kind": "image-build", "severity": "info" | "error", "title": "...",
#    "text": "...", "content": "<one line>", "time": "<RFC 3339>",
#    "fields": {"image": ..., "digest": ..., ...}}
#
# POSTed to ALERT_WEBHOOK_URL (https only; Slack-compatible webhooks read
# "text", Discord's read "content", anything else reads the rest), and
# published to ALERT_SNS_TOPIC_ARN with the AWS CLI when it is set. Neither
# set: nothing is sent. The webhook's URL, which holds its token, is never
# printed.
#
#   RESULT          the build job's result: success, failure, cancelled, skipped
#   IMAGE           the image's repository (ghcr.io/owner/mineralcontest)
#   TAGS            its tags, one a line or comma-separated
#   DIGEST          the pushed manifest list's digest (sha256:...), when pushed
#   PLUGIN_VERSION  the Mineral Contest plugin release built in
#   PLUGIN_SHA256   that release's jar's SHA-256, when GitHub publishes it
#   RUN_URL         the workflow run
#   COMMIT, TRIGGER the commit built and what started the build
set -eu

case ${RESULT:-} in
success) severity=info ;;
failure | cancelled) severity=error ;;
*)
	echo "game-image-alert: build result '${RESULT:-}': nothing to tell"
	exit 0
	;;
esac
if [ -z "${ALERT_WEBHOOK_URL:-}" ] && [ -z "${ALERT_SNS_TOPIC_ARN:-}" ]; then
	echo "game-image-alert: neither ALERT_WEBHOOK_URL nor ALERT_SNS_TOPIC_ARN is set: nothing sent"
	exit 0
fi
case ${ALERT_WEBHOOK_URL:-https://} in
https://*) ;;
*)
	echo "game-image-alert: ALERT_WEBHOOK_URL must be an https:// URL" >&2
	exit 1
	;;
esac

image=${IMAGE:-the game image}
plugin=${PLUGIN_VERSION:-unknown}
tags=$(printf '%s' "${TAGS:-}" | tr ',\n' '  ' | tr -s ' ' | sed 's/^ //; s/ $//; s/ /, /g')
name=${image##*/}
if [ "$RESULT" = success ]; then
	title="Game image built: $name $plugin"
	text="$image is built for linux/amd64 and linux/arm64 with the Mineral Contest plugin $plugin."
	[ -z "${DIGEST:-}" ] || text="$text Digest: $DIGEST."
	[ -z "$tags" ] || text="$text Tags: $tags."
else
	ended=failed
	[ "$RESULT" = failure ] || ended=$RESULT
	title="Game image build $ended: $name $plugin"
	text="The build of $image with the Mineral Contest plugin $plugin $ended. Servers keep the image they had."
fi
[ -z "${RUN_URL:-}" ] || text="$text Run: $RUN_URL"
content="$title ($image${DIGEST:+@$DIGEST})${RUN_URL:+: $RUN_URL}"

body=$(jq -cn \
	--arg severity "$severity" --arg title "$title" --arg text "$text" --arg content "$content" \
	--arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg result "$RESULT" --arg image "$image" --arg tags "$tags" --arg digest "${DIGEST:-}" \
	--arg plugin "$plugin" --arg plugin_sha256 "${PLUGIN_SHA256:-}" --arg run "${RUN_URL:-}" \
	--arg commit "${COMMIT:-}" --arg trigger "${TRIGGER:-}" \
	'{kind: "image-build", severity: $severity, title: $title, text: $text, content: $content, time: $time,
	  fields: ({result: $result, image: $image, tags: $tags, digest: $digest, plugin: $plugin,
	            plugin_sha256: $plugin_sha256, run: $run, commit: $commit, trigger: $trigger}
	           | with_entries(select(.value != "")))}')

failed=0
if [ -n "${ALERT_WEBHOOK_URL:-}" ]; then
	# The URL goes to curl in a private config file: never on a command line,
	# never in an error message.
	config=$(mktemp)
	trap 'rm -f "$config"' EXIT
	printf 'url = "%s"\n' "$ALERT_WEBHOOK_URL" >"$config"
	if printf '%s' "$body" | curl -fsS --proto '=https' --retry 3 --max-time 30 \
		-H 'Content-Type: application/json' --data-binary @- -K "$config" -o /dev/null 2>/dev/null; then
		echo "game-image-alert: the webhook has the alert"
	else
		echo "game-image-alert: the webhook refused the alert or could not be reached (curl exit $?)" >&2
		failed=1
	fi
fi
if [ -n "${ALERT_SNS_TOPIC_ARN:-}" ]; then
	region=$(printf '%s' "$ALERT_SNS_TOPIC_ARN" | cut -d : -f 4)
	if aws sns publish --region "$region" --topic-arn "$ALERT_SNS_TOPIC_ARN" \
		--subject "$(printf '%s' "$title" | cut -c 1-100)" --message "$body" >/dev/null; then
		echo "game-image-alert: published to $ALERT_SNS_TOPIC_ARN"
	else
		echo "game-image-alert: publishing to $ALERT_SNS_TOPIC_ARN failed" >&2
		failed=1
	fi
fi
exit "$failed"
