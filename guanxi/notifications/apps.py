from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "guanxi.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from guanxi.notifications.kinds import notification_kind_register

        # The test message a robot's owner sends from the robot page.
        notification_kind_register("robot_test", _("Robot test message"))
