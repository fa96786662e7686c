from __future__ import annotations

import factory

from guanxi.accounts.models import Department, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import department_create

PASSWORD = "correct-horse-battery-9"


class DepartmentFactory(factory.django.DjangoModelFactory):
    """Departments go through the service, which computes the tree path."""

    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"部门{n}")
    code = factory.Sequence(lambda n: f"dept-{n}")
    parent = None

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object) -> Department:
        return department_create(
            actor=None, name=kwargs["name"], code=kwargs["code"], parent=kwargs.get("parent")
        )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = Role.SALES_REP
    department = None

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])
