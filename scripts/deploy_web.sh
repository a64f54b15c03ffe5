#!/usr/bin/env bash
# Uploads the built dashboard (web/dist, from `make web`) to a deployed stack's private bucket and
# refreshes CloudFront's copy of index.html:
#   bash scripts/deploy_web.sh [stack-name]      (default ghostid-analytics-prod; or: make deploy-web STACK=...)
# Needs the AWS CLI and credentials for the stack's account. Assets carry a content hash in their
# names: they are cached for good, and old ones are kept so a page loaded before the upload still works.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${1:-ghostid-analytics-prod}"
DIST="$ROOT/web/dist"
[ -f "$DIST/index.html" ] || { echo "deploy_web.sh: build the page first (make web)" >&2; exit 1; }

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
BUCKET="$(output WebBucketName)"
DISTRIBUTION="$(output WebDistributionId)"

aws s3 sync "$DIST/assets" "s3://$BUCKET/assets" --cache-control "public, max-age=31536000, immutable"
aws s3 cp "$DIST/index.html" "s3://$BUCKET/index.html" \
  --cache-control "no-cache" --content-type "text/html; charset=utf-8"
aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION" --paths "/index.html" >/dev/null
echo "dashboard uploaded: $(output DashboardUrl)"
