"""浙江省居住证 (Zhejiang residence permit): eligibility rules, claims and benefits."""
