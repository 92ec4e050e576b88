"""The medical community's bundled budget (医保打包支付): the year's budget and spending against it."""
