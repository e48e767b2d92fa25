"""The form tab's runtime: answering pages, submitting, updating, paying, and the one-open-form lock.

`fields` checks posted answers against a page's field definitions (pure), `services` makes every
write, `selectors` reads what the pages show, `payments` is the payment-gateway interface.
"""
