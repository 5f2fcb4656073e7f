"""Operator actions: one module per action, each a Piccolo Admin `FormConfig` calling core/."""

from __future__ import annotations

from piccolo_admin.endpoints import FormConfig

from admin.forms import create_customer, customer_status, rotate_key

FORMS: list[FormConfig] = [create_customer.FORM, customer_status.FORM, rotate_key.FORM]
