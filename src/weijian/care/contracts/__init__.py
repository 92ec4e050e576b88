"""Family-doctor contracting (家庭医生签约服务): teams serving villages, yearly contracts, key populations."""
