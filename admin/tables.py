"""How each table appears to operators: columns, filters, ordering, and what is read-only."""

from __future__ import annotations

from piccolo_admin.endpoints import OrderBy, TableConfig
from piccolo_api.crud.hooks import Hook, HookType
from piccolo_api.crud.validators import Validators

from admin.guards import clean_allowed_origins, keep_password_hash, refuse
from tables.tenancy import ApiKey, Chatbot, Customer, CustomerUser

TENANCY = "Tenancy"

KEYS_ARE_MADE_BY_CORE = (
    "API keys are read-only here: use the 'Rotate API key' form (the new secret is shown once)"
)
USERS_ARE_MADE_BY_CORE = (
    "customer users are created with a hashed password by the 'Create customer' form "
    "or the customer API"
)
CUSTOMERS_COME_WITH_AN_OWNER = (
    "customers are created with their owner by the 'Create customer' form"
)
BOTS_ARE_MADE_BY_CORE = "chatbots are created through the customer API, which also issues the key"

customers = TableConfig(
    Customer,
    # The id stays visible: the operator forms take it.
    visible_columns=[
        Customer.id,
        Customer.name,
        Customer.contact_email,
        Customer.plan,
        Customer.status,
        Customer.token_quota,
        Customer.created_at,
    ],
    visible_filters=[
        Customer.name,
        Customer.contact_email,
        Customer.plan,
        Customer.status,
        Customer.created_at,
    ],
    order_by=[OrderBy(Customer.created_at, ascending=False)],
    validators=Validators(post_single=[refuse(CUSTOMERS_COME_WITH_AN_OWNER)]),
    menu_group=TENANCY,
)

customer_users = TableConfig(
    CustomerUser,
    # `password_hash` is also a `secret` column, so the admin API never returns it.
    exclude_visible_columns=[CustomerUser.password_hash],
    visible_filters=[CustomerUser.email, CustomerUser.customer, CustomerUser.role],
    order_by=[OrderBy(CustomerUser.created_at, ascending=False)],
    validators=Validators(
        post_single=[refuse(USERS_ARE_MADE_BY_CORE)],
        # PUT replaces the whole row (hash included) and PiccoloCRUD runs no hooks for it.
        put_single=[refuse("edit a customer user field by field (PATCH)")],
    ),
    hooks=[Hook(HookType.pre_patch, keep_password_hash)],
    menu_group=TENANCY,
)

chatbots = TableConfig(
    Chatbot,
    visible_columns=[
        Chatbot.id,
        Chatbot.name,
        Chatbot.customer,
        Chatbot.model,
        Chatbot.memory_enabled,
        Chatbot.demo_message_limit,
        Chatbot.created_at,
        Chatbot.deleted_at,
    ],
    visible_filters=[
        Chatbot.name,
        Chatbot.customer,
        Chatbot.model,
        Chatbot.memory_enabled,
        Chatbot.deleted_at,
    ],
    order_by=[OrderBy(Chatbot.created_at, ascending=False)],
    validators=Validators(
        post_single=[refuse(BOTS_ARE_MADE_BY_CORE)],
        put_single=[refuse("edit a chatbot field by field (PATCH)")],
    ),
    hooks=[Hook(HookType.pre_patch, clean_allowed_origins)],
    menu_group=TENANCY,
)

api_keys = TableConfig(
    ApiKey,
    exclude_visible_columns=[ApiKey.secret_hash],
    visible_filters=[ApiKey.chatbot, ApiKey.prefix, ApiKey.revoked_at, ApiKey.created_at],
    order_by=[OrderBy(ApiKey.created_at, ascending=False)],
    # Read-only: a key is minted (and its hash computed) only by core's rotate_key.
    validators=Validators(
        post_single=[refuse(KEYS_ARE_MADE_BY_CORE)],
        put_single=[refuse(KEYS_ARE_MADE_BY_CORE)],
        patch_single=[refuse(KEYS_ARE_MADE_BY_CORE)],
        delete_single=[refuse(KEYS_ARE_MADE_BY_CORE)],
    ),
    menu_group=TENANCY,
)

TABLES: list[TableConfig] = [customers, customer_users, chatbots, api_keys]
