"""Two-way referral (双向转诊): rules, commands, the state machine, reads, the API and the pages."""
