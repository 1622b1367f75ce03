"""reception-bot: the mail side of the 市长服务民营企业接待日 programme."""
