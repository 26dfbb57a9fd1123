# The topic of the bot's alerts (var.alerts_topic, ALERT_SNS_TOPIC_ARN):
# failed creations, failed servers, failed backups, a failed start, a game
# image's build. Subscribe to it yourself (e-mail, SMS, a queue, a Lambda).
#
# Encrypted at rest with SNS's AWS-managed key. The bot publishes with its
# own credentials, which that key allows; an AWS service (EventBridge, a
# CloudWatch alarm) could not publish to it, as that key's policy cannot
# name them: use a key of your own then (.trivyignore, AWS-0136).
resource "aws_sns_topic" "alerts" {
  count = var.alerts_topic ? 1 : 0

  name              = "${var.name}-alerts"
  kms_master_key_id = "alias/aws/sns"
}
