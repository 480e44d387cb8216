"""Members and loyalty: registration, tiers, points, stored value, coupons, segments, campaigns, analytics."""
