#!/bin/sh
# Chinese fonts for the documents the bot makes: the leaders' report draws its chart with one
# (without a CJK font the report is refused rather than printed with empty boxes).
# Run once as root on the server (Debian/Ubuntu): sh deploy/install-fonts.sh
set -eu
if fc-list :lang=zh file 2>/dev/null | grep -q .; then
    echo "已安装中文字体：" && fc-list :lang=zh family | head -3
    exit 0
fi
apt-get update -qq
apt-get install -y --no-install-recommends fontconfig fonts-noto-cjk
fc-cache -f >/dev/null
fc-list :lang=zh family | head -3
