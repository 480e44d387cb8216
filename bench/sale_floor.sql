-- The raw-SQL floor of one 3-line cash sale on the real cloudpos schema (pgbench custom script).
--
-- bench/checkout_bench.py runs it after the app's own run, on the same scratch database and store:
--   pgbench -n -M prepared -c 8 -j 2 -T <s> -f bench/sale_floor.sql \
--     -D tenant=<uuid> -D store=<uuid> -D storecode=S01 -D terminal=<uuid> -D shift=<uuid> \
--     -D cashier=<uuid> -D rchain=receipts:<store uuid> -D nsale=<number of sale products> <database url>
--
-- One transaction writes exactly the rows POST /api/v1/sales writes for such a sale (no member, no
-- coupon, no printer): the idempotency key (claimed first, its response stored last), the cash payment
-- in the payments ledger, the store's next gap-free receipt number (chain head row lock) with its hash
-- link, the sale, its 3 lines and 1 payment, 3 stock levels decreased in primary-key order with their 3
-- movements, and the tenant's audit event with the audit chain head. It also reads the 3 products
-- (a sale line copies sku, name, price and cost). Nothing else: no pricing, no permission checks, no
-- ORM, no HTTP. Ids are time-ordered like the app's UUIDv7 (same index locality); hashes are sha256.
-- Sale products have SKUs S0001…S<nsale>; three distinct ones are picked at random.

\set r1 random(1, :nsale)
\set d1 random(1, :nsale / 2)
\set d2 random(:nsale / 2 + 1, :nsale - 1)
\set r2 1 + (:r1 - 1 + :d1) % :nsale
\set r3 1 + (:r1 - 1 + :d2) % :nsale

BEGIN;

INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, status_code, response, created_at)
VALUES (:tenant, 'sales.create', gen_random_uuid()::text, md5(random()::text) || md5(random()::text), 0, '{}',
        clock_timestamp())
RETURNING key AS idem_key
\gset

-- the 3 products in primary-key order (so stock rows are locked in the same order by every writer),
-- and the new rows' time-ordered ids
SELECT (array_agg(id ORDER BY id))[1] AS p1, (array_agg(id ORDER BY id))[2] AS p2,
       (array_agg(id ORDER BY id))[3] AS p3,
       (array_agg(sku ORDER BY id))[1] AS sku1, (array_agg(sku ORDER BY id))[2] AS sku2,
       (array_agg(sku ORDER BY id))[3] AS sku3,
       (array_agg(name ORDER BY id))[1] AS name1, (array_agg(name ORDER BY id))[2] AS name2,
       (array_agg(name ORDER BY id))[3] AS name3,
       (array_agg(price ORDER BY id))[1] AS price1, (array_agg(price ORDER BY id))[2] AS price2,
       (array_agg(price ORDER BY id))[3] AS price3,
       (array_agg(cost ORDER BY id))[1] AS cost1, (array_agg(cost ORDER BY id))[2] AS cost2,
       (array_agg(cost ORDER BY id))[3] AS cost3,
       sum(price) AS total,
       encode(overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send((extract(epoch FROM clock_timestamp())
              * 1000)::bigint) FROM 3) FROM 1 FOR 6), 'hex') AS sale_id,
       encode(overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send((extract(epoch FROM clock_timestamp())
              * 1000)::bigint) FROM 3) FROM 1 FOR 6), 'hex') AS pay_id,
       encode(overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send((extract(epoch FROM clock_timestamp())
              * 1000)::bigint) FROM 3) FROM 1 FOR 6), 'hex') AS ev_id
FROM products
WHERE tenant_id = :tenant
  AND sku IN ('S' || lpad(:r1::text, 4, '0'), 'S' || lpad(:r2::text, 4, '0'), 'S' || lpad(:r3::text, 4, '0'))
\gset

INSERT INTO payments (tenant_id, id, store_id, terminal_id, employee_id, method, provider, amount_fen, currency,
                      status, out_trade_no, provider_trade_no, auth_code_last4, card_brand, card_last4,
                      approval_code, reference, sale_ref, sale_id, idempotency_key, attempts, deadline, fee_rate_bp,
                      settlement_cycle_days, refunded_fen, error_code, message, reconcile_claim_at, paid_at,
                      created_at, updated_at)
VALUES (:tenant, :pay_id::uuid, :store, :terminal, :cashier, 'cash', '', :total, 'CNY', 'succeeded', :pay_id, '', '',
        '', '', '', '', '', :sale_id::uuid, NULL, 0, NULL, 0, 0, 0, '', 'Paid', NULL, clock_timestamp(),
        clock_timestamp(), clock_timestamp());

-- the store's next receipt number: locks the chain head until COMMIT (gap-free, one sale at a time)
UPDATE chain_heads SET last_seq = last_seq + 1 WHERE tenant_id = :tenant AND chain = :rchain
RETURNING last_seq AS seq, last_hash AS prev
\gset

INSERT INTO sales (tenant_id, id, kind, original_id, replaces_id, store_id, terminal_id, shift_id, cashier_id,
                   cashier_name, salesperson_id, member_id, receipt_seq, receipt_no, business_day, currency, subtotal,
                   discount_total, total, cash_rounding, paid, change, points_earned, points_redeemed, pricing, note,
                   client_ref, created_at, prev_hash, hash)
VALUES (:tenant, :sale_id::uuid, 'sale', NULL, NULL, :store, :terminal, :shift, :cashier, 'Floor', NULL, NULL, :seq,
        :storecode::text || '-' || to_char(clock_timestamp() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
        || lpad(:seq::text, 6, '0'),
        (clock_timestamp() AT TIME ZONE 'Asia/Shanghai')::date, 'CNY', :total, 0, :total, 0, :total, 100000 - :total,
        0, 0, '{"explanation": [], "order_discounts": [], "coupons": []}', '', '', clock_timestamp(), :prev,
        encode(sha256(convert_to(:prev::text || json_build_object(
            'id', :sale_id::text, 'seq', :seq::bigint, 'total', :total::bigint,
            'lines', json_build_array(json_build_array(1, :p1::text, 1000, :price1::bigint), json_build_array(2, :p2::text, 1000, :price2::bigint),
                                      json_build_array(3, :p3::text, 1000, :price3::bigint)),
            'payments', json_build_array(json_build_array(1, 'cash', :total::bigint)))::text, 'UTF8')), 'hex'))
RETURNING hash AS sale_hash
\gset

INSERT INTO sale_lines (tenant_id, sale_id, line_no, product_id, sku, name, category_id, qty, unit_price, list_amount,
                        discount, amount, unit_cost, is_gift, original_line_no, discounts)
VALUES (:tenant, :sale_id::uuid, 1, :p1, :sku1, :name1, NULL, 1000, :price1, :price1, 0, :price1, :cost1, 0, NULL, '[]'),
       (:tenant, :sale_id::uuid, 2, :p2, :sku2, :name2, NULL, 1000, :price2, :price2, 0, :price2, :cost2, 0, NULL, '[]'),
       (:tenant, :sale_id::uuid, 3, :p3, :sku3, :name3, NULL, 1000, :price3, :price3, 0, :price3, :cost3, 0, NULL, '[]');

INSERT INTO sale_payments (tenant_id, sale_id, seq, method, amount, tendered, payment_id, reference, card_brand,
                           card_last4, approval_code)
VALUES (:tenant, :sale_id::uuid, 1, 'cash', :total, 100000, :pay_id::uuid, '', '', '', '');

UPDATE chain_heads SET last_hash = :sale_hash WHERE tenant_id = :tenant AND chain = :rchain;

UPDATE stock_levels SET on_hand = on_hand - 1000, updated_at = clock_timestamp()
WHERE tenant_id = :tenant AND store_id = :store AND product_id = :p1 RETURNING on_hand AS oh1
\gset
UPDATE stock_levels SET on_hand = on_hand - 1000, updated_at = clock_timestamp()
WHERE tenant_id = :tenant AND store_id = :store AND product_id = :p2 RETURNING on_hand AS oh2
\gset
UPDATE stock_levels SET on_hand = on_hand - 1000, updated_at = clock_timestamp()
WHERE tenant_id = :tenant AND store_id = :store AND product_id = :p3 RETURNING on_hand AS oh3
\gset

INSERT INTO stock_movements (tenant_id, id, store_id, product_id, kind, quantity, unit_cost, balance_after, ref_type,
                             ref_id, reason, note, actor_id, actor_name, occurred_at)
SELECT :tenant, encode(overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send((extract(epoch FROM
              clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 'hex')::uuid,
       :store, m.product_id::uuid, 'sale', -1000, m.cost, m.balance, 'sale', :sale_id::uuid, '', '', :cashier,
       'Floor', clock_timestamp()
FROM (VALUES (:p1, :cost1::bigint, :oh1::bigint), (:p2, :cost2::bigint, :oh2::bigint),
             (:p3, :cost3::bigint, :oh3::bigint)) AS m (product_id, cost, balance);

-- the tenant's audit chain: next number (head row lock), then the event and the head's new hash in one statement
UPDATE chain_heads SET last_seq = last_seq + 1 WHERE tenant_id = :tenant AND chain = 'audit'
RETURNING last_seq AS aseq, last_hash AS aprev
\gset

WITH ev AS (
    INSERT INTO audit_events (tenant_id, id, seq, occurred_at, actor_id, actor_name, store_id, terminal_id, ip, action,
                              target_type, target_id, target_label, summary, result, prev_hash, hash)
    VALUES (:tenant, :ev_id::uuid, :aseq, clock_timestamp(), :cashier, 'Floor', :store, :terminal, '127.0.0.1',
            'sale.create', 'sale', :sale_id::text, :seq::text,
            json_build_object('total', :total::bigint, 'paid', :total::bigint, 'change', 100000 - :total::bigint,
                              'payments', json_build_array(json_build_array('cash', :total::bigint)), 'lines', 3),
            'ok', :aprev, encode(sha256(convert_to(:aprev::text || :sale_id::text || :aseq::text || 'sale.create', 'UTF8')), 'hex'))
    RETURNING hash
)
UPDATE chain_heads SET last_hash = (SELECT hash FROM ev) WHERE tenant_id = :tenant AND chain = 'audit';

UPDATE idempotency_keys
SET status_code = 201,
    response = json_build_object('id', :sale_id::text, 'kind', 'sale', 'receipt_no', :seq::bigint, 'store_id', :store::text,
                                 'terminal_id', :terminal::text, 'shift_id', :shift::text, 'total', :total::bigint,
                                 'paid', :total::bigint,
                                 'lines', json_build_array(json_build_object('product_id', :p1::text, 'sku', :sku1::text, 'name', :name1::text,
                                                                             'amount', :price1::bigint),
                                                           json_build_object('product_id', :p2::text, 'sku', :sku2::text, 'name', :name2::text,
                                                                             'amount', :price2::bigint),
                                                           json_build_object('product_id', :p3::text, 'sku', :sku3::text, 'name', :name3::text,
                                                                             'amount', :price3::bigint)),
                                 'payments', json_build_array(json_build_object('method', 'cash', 'amount', :total::bigint,
                                                                                'payment_id', :pay_id::text)))
WHERE tenant_id = :tenant AND scope = 'sales.create' AND key = :idem_key;

END;
