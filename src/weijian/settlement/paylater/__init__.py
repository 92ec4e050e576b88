"""先诊疗后付费 (treat first, pay later): deposit waivers, the balances settlement opens, payments, the ledger."""
